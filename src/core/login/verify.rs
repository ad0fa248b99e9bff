//! An ID token checked against its provider: the signature with the provider's JWKS (fetched
//! again once for an unknown key), then the claims. Used by the test login, the device login
//! and the refresh alike.

use serde_json::Value;

use super::id_token;
use super::provider::{Provider, fetch_jwks};
use super::{Claims, ErrorKind, Identity, LoginError, SignatureStatus};

/// What an ID token is checked against besides the provider.
pub(super) struct Rules<'a> {
    pub(super) client_id: &'a str,
    pub(super) leeway: std::time::Duration,
    pub(super) nonce: Option<&'a str>,
}

/// Signature (when a JWKS is known; fetched on first use) and claims, as at login. Used by
/// the test login, the device login and the refresh. Returns the claims made fit to show and
/// the identity exactly as the token states it (compared on refresh, never shown).
pub(super) async fn verify_id_token(
    client: &reqwest::Client,
    provider: &mut Provider,
    rules: &Rules<'_>,
    token: &str,
) -> Result<(Claims, Identity), LoginError> {
    if provider.jwks.is_none()
        && let Some(uri) = provider.jwks_uri.clone()
    {
        provider.jwks = Some(fetch_jwks(client, &uri).await?.0);
    }
    let signature = match provider.jwks.take() {
        Some(jwks) => {
            let (status, jwks) = verify_signature(client, provider, jwks, token).await?;
            provider.jwks = Some(jwks);
            status
        }
        None => SignatureStatus::NotVerifiedNoJwks,
    };
    let claims = id_token::claims(token)?;
    let claim_rules = id_token::ClaimRules {
        client_id: rules.client_id,
        issuer: provider
            .issuer
            .as_deref()
            .filter(|_| provider.compare_token_issuer),
        nonce: rules.nonce,
        leeway: rules.leeway,
        now: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    if provider.compare_token_issuer && claim_rules.issuer.is_none() {
        return Err(LoginError::new(
            ErrorKind::IdTokenIssuer,
            "there is no issuer to compare the ID token's iss with (discovery has none)",
        )
        .with_hint("turn on Validate Issuer Name, or off Validate Token Issuer Name"));
    }
    id_token::check_claims(&claims, &claim_rules)?;
    Ok((
        claims_from_id_token(&claims, signature),
        raw_identity(&claims),
    ))
}

/// iss, sub and aud as the token states them: OIDC Core 12.2 compares these exactly, so two
/// values that differ only in what display cleaning removes must still differ.
pub(super) fn raw_identity(claims: &Value) -> Identity {
    let raw = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    Identity {
        iss: raw("iss"),
        sub: raw("sub"),
        aud: id_token::audiences(claims),
    }
}

/// Algorithm, key (refetching the JWKS once for an unknown key), signature.
pub(super) async fn verify_signature(
    client: &reqwest::Client,
    provider: &Provider,
    jwks: Value,
    token: &str,
) -> Result<(SignatureStatus, Value), LoginError> {
    let header = id_token::header(token)?;
    let allowed = id_token::allowed_algorithms(&provider.id_token_algs);
    let alg = id_token::check_algorithm(&header, &allowed)?;
    let mut jwks = jwks;
    let mut keys = id_token::candidate_keys(&jwks, &header, alg);
    if keys.is_empty() {
        // Key rotation: the provider may have published a new key since the JWKS was read.
        if let Some(uri) = &provider.jwks_uri {
            tracing::info!("no JWKS key fits the ID token; fetching the JWKS again");
            jwks = fetch_jwks(client, uri).await?.0;
            keys = id_token::candidate_keys(&jwks, &header, alg);
        }
    }
    if keys.is_empty() {
        let which = header
            .kid
            .as_deref()
            .map(|kid| format!("key '{}'", super::explain::provider_text(kid, 80)))
            .unwrap_or_else(|| format!("any {alg:?} key"));
        return Err(LoginError::new(
            ErrorKind::IdTokenUnknownKey,
            format!("the ID token was signed with {which}, which the provider's JWKS does not have, even after fetching it again"),
        )
        .with_hint("the token does not come from this provider, or its keys are misconfigured"));
    }
    id_token::verify_signature(token, alg, &keys)?;
    Ok((
        SignatureStatus::Verified {
            alg: format!("{alg:?}"),
        },
        jwks,
    ))
}

pub(super) fn claims_from_id_token(claims: &Value, signature: SignatureStatus) -> Claims {
    let text = |key: &str| {
        claims
            .get(key)
            .and_then(Value::as_str)
            .map(|v| super::explain::provider_text(v, 200))
    };
    Claims {
        iss: text("iss"),
        sub: text("sub"),
        aud: id_token::audiences(claims)
            .iter()
            .map(|a| super::explain::provider_text(a, 200))
            .collect(),
        email: text("email"),
        name: text("name").or_else(|| text("preferred_username")),
        upn: text("upn"),
        signature: Some(signature),
        ..Claims::default()
    }
}
