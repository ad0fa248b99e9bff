//! ID token validation (OIDC Core 3.1.3.7, NOTES.md section 3).
//!
//! The JOSE work (key parsing, signature) is jsonwebtoken's; the header and claims checks are
//! ours so that each failure gets its own precise kind and message. The order follows the
//! spec: algorithm, key, signature, then iss, aud/azp, time, nonce.

use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::explain::provider_text;
use super::pkce::constant_time_eq;
use super::{ErrorKind, LoginError};

/// Asymmetric algorithms jsonwebtoken verifies. HMAC is never accepted: the only key an RP has
/// for it would be a public one (the classic key-confusion attack).
const ASYMMETRIC: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A freshly issued token whose `exp` passed less than this long ago points at a clock that
/// is off rather than at a stale token.
const SLIGHTLY_PAST: i64 = 300;

/// The JOSE header fields the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
}

/// Read the header without trusting it. Our own parser, because jsonwebtoken's refuses
/// `alg: none` before we could name the problem.
pub fn header(token: &str) -> Result<Header, LoginError> {
    let mut parts = token.split('.');
    let (Some(head), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "it does not have three parts (an encrypted ID token is not supported)",
        ));
    };
    let json = decode_part(head).ok_or_else(|| malformed("its header is not base64url JSON"))?;
    let alg = json
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("its header has no alg"))?;
    Ok(Header {
        alg: provider_text(alg, 40),
        kid: json.get("kid").and_then(Value::as_str).map(str::to_owned),
    })
}

/// The claims, decoded but not trusted.
pub fn claims(token: &str) -> Result<Value, LoginError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| malformed("it has no payload"))?;
    let claims =
        decode_part(payload).ok_or_else(|| malformed("its payload is not base64url JSON"))?;
    if claims.is_object() {
        Ok(claims)
    } else {
        Err(malformed("its payload is not a JSON object"))
    }
}

fn decode_part(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn malformed(why: &str) -> LoginError {
    LoginError::new(
        ErrorKind::IdTokenSignature,
        format!("the ID token is malformed: {why}"),
    )
}

/// The algorithms accepted: those the provider advertises that are asymmetric and supported.
/// OIDC's default is RS256 when the provider advertises none.
pub fn allowed_algorithms(advertised: &[String]) -> Vec<Algorithm> {
    if advertised.is_empty() {
        return vec![Algorithm::RS256];
    }
    advertised
        .iter()
        .filter_map(|name| Algorithm::from_str(name).ok())
        .filter(|alg| ASYMMETRIC.contains(alg))
        .collect()
}

/// The header's algorithm, if it is acceptable.
pub fn check_algorithm(header: &Header, allowed: &[Algorithm]) -> Result<Algorithm, LoginError> {
    let refuse = |why: String| {
        LoginError::new(ErrorKind::IdTokenAlgorithm, why).with_hint(
            "the provider must sign ID tokens with an asymmetric algorithm it advertises \
             (RS256 on Keycloak)",
        )
    };
    if header.alg.eq_ignore_ascii_case("none") {
        return Err(refuse("the ID token is not signed (alg: none)".into()));
    }
    let Ok(alg) = Algorithm::from_str(&header.alg) else {
        return Err(refuse(format!(
            "the ID token uses the unsupported algorithm {}",
            header.alg
        )));
    };
    if !ASYMMETRIC.contains(&alg) {
        return Err(refuse(format!(
            "the ID token is signed with {} (HMAC), which a public key cannot verify and this \
             program never accepts",
            header.alg
        )));
    }
    if !allowed.contains(&alg) {
        return Err(refuse(format!(
            "the ID token is signed with {}, which the provider does not advertise in \
             id_token_signing_alg_values_supported",
            header.alg
        )));
    }
    Ok(alg)
}

/// The JWKS keys that may have signed a token with this header: the `kid` ones when the header
/// names one, otherwise every signing key of the algorithm's family.
pub fn candidate_keys(jwks: &Value, header: &Header, alg: Algorithm) -> Vec<Jwk> {
    let keys = jwks.get("keys").and_then(Value::as_array);
    keys.into_iter()
        .flatten()
        .filter(|key| match &header.kid {
            Some(kid) => key.get("kid").and_then(Value::as_str) == Some(kid.as_str()),
            None => true,
        })
        .filter(|key| key.get("use").and_then(Value::as_str) != Some("enc"))
        .filter(|key| {
            key.get("alg")
                .and_then(Value::as_str)
                .is_none_or(|a| a == header.alg)
        })
        .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
        .filter(|jwk| family_fits(jwk, alg))
        .collect()
}

fn family_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::EllipticCurve;
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(p) => matches!(
            (alg, &p.curve),
            (Algorithm::ES256, EllipticCurve::P256) | (Algorithm::ES384, EllipticCurve::P384)
        ),
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        // Symmetric keys never verify an ID token here.
        AlgorithmParameters::OctetKey(_) => false,
    }
}

/// Check the signature against each candidate key; one must verify it.
pub fn verify_signature(token: &str, alg: Algorithm, keys: &[Jwk]) -> Result<(), LoginError> {
    let mut validation = Validation::new(alg);
    // Claims are checked by `check_claims` for precise kinds; here only the signature counts.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let verified = keys.iter().any(|jwk| {
        DecodingKey::from_jwk(jwk)
            .and_then(|key| jsonwebtoken::decode::<Value>(token, &key, &validation))
            .is_ok()
    });
    if verified {
        Ok(())
    } else {
        Err(LoginError::new(
            ErrorKind::IdTokenSignature,
            format!("the ID token's {alg:?} signature does not verify against the provider's keys"),
        )
        .with_hint("the token was altered, or it does not come from this provider"))
    }
}

/// What the claims must say.
#[derive(Debug, Clone)]
pub struct ClaimRules<'a> {
    pub client_id: &'a str,
    /// Compared with `iss` when set (Validate Token Issuer Name).
    pub issuer: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub leeway: Duration,
    /// Seconds since the epoch.
    pub now: i64,
}

/// Every claims check, in spec order; the first failure is returned.
pub fn check_claims(claims: &Value, rules: &ClaimRules<'_>) -> Result<(), LoginError> {
    check_issuer(claims, rules)?;
    check_subject(claims)?;
    check_audience(claims, rules.client_id)?;
    let leeway = i64::try_from(rules.leeway.as_secs()).unwrap_or(i64::MAX);
    check_times(claims, leeway, rules.now)?;
    check_nonce(claims, rules.nonce)
}

fn text<'v>(claims: &'v Value, key: &str) -> Option<&'v str> {
    claims.get(key).and_then(Value::as_str)
}

fn check_issuer(claims: &Value, rules: &ClaimRules<'_>) -> Result<(), LoginError> {
    let Some(expected) = rules.issuer else {
        return Ok(());
    };
    match text(claims, "iss") {
        Some(iss) if iss == expected => Ok(()),
        found => Err(LoginError::new(
            ErrorKind::IdTokenIssuer,
            format!(
                "the ID token was issued by '{}', not by '{expected}'",
                provider_text(found.unwrap_or("(no iss)"), 200)
            ),
        )
        .with_hint(
            "a proxy or a misconfigured IAM may rewrite the issuer; turn off Validate Token \
             Issuer Name only if you trust it",
        )),
    }
}

fn check_subject(claims: &Value) -> Result<(), LoginError> {
    match text(claims, "sub") {
        Some(sub) if !sub.is_empty() => Ok(()),
        _ => Err(LoginError::new(
            ErrorKind::IdTokenIssuer,
            "the ID token has no sub (the user's identifier)",
        )),
    }
}

/// `aud` must contain the client id; with several audiences `azp` must be the client id, and
/// a present `azp` must always be.
fn check_audience(claims: &Value, client_id: &str) -> Result<(), LoginError> {
    let audiences = audiences(claims);
    let wrong = |why: String| {
        LoginError::new(ErrorKind::IdTokenAudience, why)
            .with_hint("the token was issued for another client: check the Client ID")
    };
    if !audiences.iter().any(|a| a == client_id) {
        return Err(wrong(format!(
            "the ID token is for audience {}, not for this client '{client_id}'",
            shown_list(&audiences)
        )));
    }
    match text(claims, "azp") {
        Some(azp) if azp != client_id => Err(wrong(format!(
            "the ID token's authorized party (azp) is '{}', not '{client_id}'",
            provider_text(azp, 100)
        ))),
        None if audiences.len() > 1 => Err(wrong(format!(
            "the ID token has several audiences {} but no authorized party (azp)",
            shown_list(&audiences)
        ))),
        _ => Ok(()),
    }
}

/// `aud` as a list, whether the token has a string or an array.
pub fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn shown_list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items
            .iter()
            .map(|a| format!("'{}'", provider_text(a, 100)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A NumericDate, which JSON may carry as an integer or a float.
fn seconds(claims: &Value, key: &str) -> Option<i64> {
    let value = claims.get(key)?;
    value.as_i64().or_else(|| value.as_f64().map(|f| f as i64))
}

fn check_times(claims: &Value, leeway: i64, now: i64) -> Result<(), LoginError> {
    let skew_hint = |by: i64| {
        format!(
            "set the clock right (e.g. `timedatectl set-ntp true`); the clocks differ by about \
             {by} s and {leeway} s are tolerated"
        )
    };
    let Some(exp) = seconds(claims, "exp") else {
        return Err(LoginError::new(
            ErrorKind::IdTokenExpired,
            "the ID token has no exp (expiry time)",
        ));
    };
    let Some(iat) = seconds(claims, "iat") else {
        return Err(LoginError::new(
            ErrorKind::IdTokenExpired,
            "the ID token has no iat (issue time)",
        ));
    };
    // Provider numbers may be anything up to i64::MAX: saturate instead of overflowing.
    if now > exp.saturating_add(leeway) {
        let past = now.saturating_sub(exp);
        if past <= SLIGHTLY_PAST.saturating_add(leeway) {
            return Err(LoginError::new(
                ErrorKind::IdTokenClockSkew,
                format!(
                    "the ID token expired {past} s ago, right after it was issued: this \
                     machine's clock is probably ahead of the provider's (clock skew of about \
                     {past} s)"
                ),
            )
            .with_hint(skew_hint(past)));
        }
        return Err(LoginError::new(
            ErrorKind::IdTokenExpired,
            format!("the ID token expired {past} s ago (exp {})", rfc3339(exp)),
        )
        .with_hint("the provider handed out a stale token: try again, and check its clock"));
    }
    if iat > now.saturating_add(leeway) {
        let ahead = iat.saturating_sub(now);
        return Err(LoginError::new(
            ErrorKind::IdTokenClockSkew,
            format!(
                "the ID token was issued {ahead} s in the future (iat {}): the provider's clock \
                 is ahead of this machine's (clock skew of about {ahead} s)",
                rfc3339(iat)
            ),
        )
        .with_hint(skew_hint(ahead)));
    }
    if let Some(nbf) = seconds(claims, "nbf").filter(|nbf| *nbf > now.saturating_add(leeway)) {
        let ahead = nbf.saturating_sub(now);
        return Err(LoginError::new(
            ErrorKind::IdTokenClockSkew,
            format!("the ID token is not valid for another {ahead} s (nbf): clock skew"),
        )
        .with_hint(skew_hint(ahead)));
    }
    Ok(())
}

fn check_nonce(claims: &Value, nonce: Option<&str>) -> Result<(), LoginError> {
    let Some(expected) = nonce else {
        return Ok(());
    };
    match text(claims, "nonce") {
        Some(found) if constant_time_eq(found, expected) => Ok(()),
        Some(_) => Err(LoginError::new(
            ErrorKind::IdTokenNonce,
            "the ID token's nonce is not the one this login sent (a replayed or injected token)",
        )),
        None => Err(LoginError::new(
            ErrorKind::IdTokenNonce,
            "the ID token has no nonce though this login sent one",
        )),
    }
}

/// A timestamp for people; the raw number when out of range.
pub fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: Value, claims: Value) -> String {
        format!("{}.{}.sig", encode(&header), encode(&claims))
    }

    const NOW: i64 = 1_800_000_000;

    fn rules() -> ClaimRules<'static> {
        ClaimRules {
            client_id: "app",
            issuer: Some("https://idp/r"),
            nonce: Some("N"),
            leeway: Duration::from_secs(60),
            now: NOW,
        }
    }

    fn good() -> Value {
        json!({"iss": "https://idp/r", "sub": "u", "aud": "app", "exp": NOW + 300,
               "iat": NOW, "nonce": "N"})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut c = good();
        if value.is_null() {
            c.as_object_mut().unwrap().remove(key);
        } else {
            c[key] = value;
        }
        c
    }

    #[test]
    fn claims_table() {
        let cases: Vec<(Value, Option<ErrorKind>)> = vec![
            (good(), None),
            (
                with("iss", json!("https://idp/other")),
                Some(ErrorKind::IdTokenIssuer),
            ),
            (with("iss", Value::Null), Some(ErrorKind::IdTokenIssuer)),
            (with("sub", Value::Null), Some(ErrorKind::IdTokenIssuer)),
            (
                with("aud", json!("other")),
                Some(ErrorKind::IdTokenAudience),
            ),
            (
                with("aud", json!(["other", "app"])),
                Some(ErrorKind::IdTokenAudience),
            ),
            (with("aud", json!(["app"])), None),
            (
                with("azp", json!("other")),
                Some(ErrorKind::IdTokenAudience),
            ),
            (
                {
                    let mut c = with("aud", json!(["other", "app"]));
                    c["azp"] = json!("app");
                    c
                },
                None,
            ),
            (
                with("exp", json!(NOW - 3600)),
                Some(ErrorKind::IdTokenExpired),
            ),
            (
                with("exp", json!(NOW - 120)),
                Some(ErrorKind::IdTokenClockSkew),
            ),
            (with("exp", json!(NOW - 30)), None),
            (with("exp", json!((NOW + 300) as f64 + 0.5)), None),
            (with("exp", Value::Null), Some(ErrorKind::IdTokenExpired)),
            (
                with("iat", json!(NOW + 600)),
                Some(ErrorKind::IdTokenClockSkew),
            ),
            (with("iat", json!(NOW + 30)), None),
            (with("iat", Value::Null), Some(ErrorKind::IdTokenExpired)),
            // Extreme provider numbers are judged, not overflowed (a debug build would panic).
            (with("exp", json!(i64::MAX)), None),
            (
                with("exp", json!(i64::MIN)),
                Some(ErrorKind::IdTokenExpired),
            ),
            (with("iat", json!(i64::MIN)), None),
            (
                with("iat", json!(i64::MAX)),
                Some(ErrorKind::IdTokenClockSkew),
            ),
            (
                with("nbf", json!(NOW + 600)),
                Some(ErrorKind::IdTokenClockSkew),
            ),
            (with("nonce", json!("M")), Some(ErrorKind::IdTokenNonce)),
            (with("nonce", Value::Null), Some(ErrorKind::IdTokenNonce)),
        ];
        for (claims, want) in cases {
            let got = check_claims(&claims, &rules()).err().map(|e| e.kind);
            assert_eq!(got, want, "{claims}");
        }
    }

    #[test]
    fn issuer_is_not_compared_when_the_option_is_off() {
        let r = ClaimRules {
            issuer: None,
            ..rules()
        };
        assert!(check_claims(&with("iss", json!("https://elsewhere")), &r).is_ok());
        // ...but everything else still is.
        assert_eq!(
            check_claims(&with("aud", json!("x")), &r).unwrap_err().kind,
            ErrorKind::IdTokenAudience
        );
    }

    #[test]
    fn clock_skew_messages_name_the_skew() {
        let e = check_claims(&with("iat", json!(NOW + 600)), &rules()).unwrap_err();
        assert!(
            e.message.contains("clock skew of about 600 s"),
            "{}",
            e.message
        );
        let e = check_claims(&with("exp", json!(NOW - 120)), &rules()).unwrap_err();
        assert!(e.message.contains("clock skew"), "{}", e.message);
    }

    #[test]
    fn algorithms_table() {
        let allowed = allowed_algorithms(&["RS256".into(), "HS256".into(), "ES512".into()]);
        assert_eq!(allowed, vec![Algorithm::RS256]);
        assert_eq!(allowed_algorithms(&[]), vec![Algorithm::RS256]);
        let h = |alg: &str| Header {
            alg: alg.into(),
            kid: None,
        };
        assert_eq!(
            check_algorithm(&h("RS256"), &allowed).unwrap(),
            Algorithm::RS256
        );
        for bad in ["none", "NONE", "HS256", "PS256", "XY9"] {
            assert_eq!(
                check_algorithm(&h(bad), &allowed).unwrap_err().kind,
                ErrorKind::IdTokenAlgorithm,
                "{bad}"
            );
        }
    }

    #[test]
    fn header_reads_alg_none_and_kid() {
        let t = token(json!({"alg": "none", "kid": "k"}), good());
        assert_eq!(
            header(&t).unwrap(),
            Header {
                alg: "none".into(),
                kid: Some("k".into())
            }
        );
        assert_eq!(claims(&t).unwrap()["sub"], "u");
        assert_eq!(header("a.b").unwrap_err().kind, ErrorKind::IdTokenSignature);
        assert_eq!(
            header("a.b.c.d.e").unwrap_err().kind,
            ErrorKind::IdTokenSignature
        );
    }

    #[test]
    fn candidate_keys_follow_kid_use_and_family() {
        let rsa = |kid: &str, extra: Value| {
            let mut k = json!({"kty": "RSA", "kid": kid, "n": "sXch", "e": "AQAB"});
            k.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            k
        };
        let jwks = json!({"keys": [
            rsa("a", json!({})),
            rsa("b", json!({"use": "enc"})),
            rsa("c", json!({"alg": "PS256"})),
            {"kty": "oct", "kid": "d", "k": "c2VjcmV0"},
            {"kty": "weird", "kid": "e"},
        ]});
        let with_kid = |kid: &str| Header {
            alg: "RS256".into(),
            kid: Some(kid.into()),
        };
        for (kid, n) in [("a", 1), ("b", 0), ("c", 0), ("d", 0), ("e", 0), ("zz", 0)] {
            assert_eq!(
                candidate_keys(&jwks, &with_kid(kid), Algorithm::RS256).len(),
                n,
                "{kid}"
            );
        }
        let no_kid = Header {
            alg: "RS256".into(),
            kid: None,
        };
        assert_eq!(candidate_keys(&jwks, &no_kid, Algorithm::RS256).len(), 1);
        assert_eq!(candidate_keys(&jwks, &no_kid, Algorithm::ES256).len(), 0);
    }
}
