//! PKCE (RFC 7636), the server's half: the challenge's shape at the authorization endpoint,
//! and the verifier against it at the token endpoint. Only S256: `plain` protects nothing
//! once the authorization request is seen, and RFC 9700 says not to use it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::state::same_secret;

/// Why a PKCE parameter is refused; the text goes in `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method must be S256 (got '{0}')")]
    Method(String),
    #[error("code_challenge_method was sent without a code_challenge")]
    MethodWithoutChallenge,
    #[error("code_challenge must be 43 base64url characters (a SHA-256 hash)")]
    ChallengeShape,
    #[error(
        "code_verifier must be 43 to 128 characters from A-Z a-z 0-9 - . _ ~ (RFC 7636 section 4.1)"
    )]
    VerifierShape,
    #[error("PKCE verification failed: the code_verifier does not match the code_challenge")]
    Mismatch,
}

/// Check the authorization request's PKCE parameters; `Some(challenge)` when PKCE is used.
/// RFC 7636 says a missing method means `plain`, which this server does not accept.
pub fn check_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, PkceError> {
    let Some(challenge) = challenge else {
        return match method {
            Some(_) => Err(PkceError::MethodWithoutChallenge),
            None => Ok(None),
        };
    };
    match method {
        Some("S256") => {}
        other => {
            return Err(PkceError::Method(
                other.unwrap_or("plain (by default)").to_owned(),
            ));
        }
    }
    let decodes_to_a_hash = URL_SAFE_NO_PAD
        .decode(challenge)
        .is_ok_and(|bytes| bytes.len() == 32);
    if challenge.len() != 43 || !decodes_to_a_hash {
        return Err(PkceError::ChallengeShape);
    }
    Ok(Some(challenge.to_owned()))
}

/// BASE64URL(SHA256(verifier)) must equal the challenge (RFC 7636 section 4.6).
pub fn verify(verifier: &str, challenge: &str) -> Result<(), PkceError> {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return Err(PkceError::VerifierShape);
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if same_secret(&computed, challenge) {
        Ok(())
    } else {
        Err(PkceError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        assert_eq!(verify(VERIFIER, CHALLENGE), Ok(()));
    }

    #[test]
    fn a_wrong_or_malformed_verifier_fails() {
        let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(verify(wrong, CHALLENGE), Err(PkceError::Mismatch));
        assert_eq!(verify("short", CHALLENGE), Err(PkceError::VerifierShape));
        let spaced = format!("{} ", &VERIFIER[..42]);
        assert_eq!(verify(&spaced, CHALLENGE), Err(PkceError::VerifierShape));
        assert_eq!(
            verify(&"a".repeat(129), CHALLENGE),
            Err(PkceError::VerifierShape)
        );
        // The challenge itself is not a verifier for itself.
        assert_eq!(verify(CHALLENGE, CHALLENGE), Err(PkceError::Mismatch));
    }

    #[test]
    fn only_s256_challenges_of_the_right_shape() {
        assert_eq!(check_challenge(None, None), Ok(None));
        assert_eq!(
            check_challenge(Some(CHALLENGE), Some("S256")),
            Ok(Some(CHALLENGE.to_owned()))
        );
        assert!(matches!(
            check_challenge(Some(CHALLENGE), None),
            Err(PkceError::Method(_))
        ));
        assert!(matches!(
            check_challenge(Some(CHALLENGE), Some("plain")),
            Err(PkceError::Method(_))
        ));
        assert_eq!(
            check_challenge(None, Some("S256")),
            Err(PkceError::MethodWithoutChallenge)
        );
        assert_eq!(
            check_challenge(Some("abc"), Some("S256")),
            Err(PkceError::ChallengeShape)
        );
        let not_b64 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM";
        assert_eq!(
            check_challenge(Some(not_b64), Some("S256")),
            Err(PkceError::ChallengeShape)
        );
    }
}
