//! The realm's signing key: an RSA key pair made at start (nothing is written to disk, so
//! every run has a new key, as a freshly installed Keycloak would), its JWKS, and RS256
//! signing and checking of the sandbox's own tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// 2048 bits: what Keycloak generates for a new realm.
pub const RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate the RSA signing key: {0}")]
    Generate(#[from] rsa::Error),
    #[error("could not encode the RSA signing key: {0}")]
    Encode(#[from] rsa::pkcs1::Error),
    #[error("could not load the RSA signing key: {0}")]
    Load(#[from] jsonwebtoken::errors::Error),
}

pub struct SigningKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public key as a JWK, as published in the JWKS.
    jwk: Value,
}

impl SigningKeys {
    /// Generate a key pair. CPU-bound (about a second in a debug build): call it on a
    /// blocking thread.
    pub fn generate() -> Result<Self, KeyError> {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)?;
        let der = private.to_pkcs1_der()?;
        let public = private.to_public_key();
        let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let kid = thumbprint(&n, &e);
        Ok(Self {
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            decoding: DecodingKey::from_rsa_components(&n, &e)?,
            jwk: json!({
                "kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e,
            }),
            kid,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `{"keys": [...]}` for the certs endpoint.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// A compact JWS over `claims`, RS256 with this key's `kid`.
    pub fn sign(&self, claims: &Value) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// The claims of a token this sandbox signed for `issuer`: RS256 only, signature and `iss`
    /// checked, and `exp` with no leeway when `check_expiry` (so a 1 s token really lasts 1 s).
    pub fn verify(
        &self,
        token: &str,
        issuer: &str,
        check_expiry: bool,
    ) -> Result<Value, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        validation.validate_exp = check_expiry;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(token, &self.decoding, &validation).map(|data| data.claims)
    }
}

/// RFC 7638 JWK thumbprint: a `kid` that names the key itself.
fn thumbprint(n: &str, e: &str) -> String {
    // The required members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "http://127.0.0.1:1/auth/realms/sandbox";

    #[test]
    fn signs_and_verifies_its_own_tokens_only() {
        let keys = SigningKeys::generate().unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({"iss": ISSUER, "sub": "s", "exp": now + 60});
        let token = keys.sign(&claims).unwrap();
        assert_eq!(keys.verify(&token, ISSUER, true).unwrap()["sub"], "s");
        assert!(keys.verify(&token, "http://other", true).is_err());
        let other = SigningKeys::generate().unwrap();
        assert!(other.verify(&token, ISSUER, true).is_err());
        let expired = keys
            .sign(&json!({"iss": ISSUER, "sub": "s", "exp": now - 1}))
            .unwrap();
        assert!(keys.verify(&expired, ISSUER, true).is_err());
        assert!(keys.verify(&expired, ISSUER, false).is_ok());
        let jwks = keys.jwks();
        assert_eq!(jwks["keys"][0]["kid"], keys.kid());
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 section 3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
