//! The identity the UE registers with (TS 33.501 §6.12.2): the SUCI, concealed with ECIES
//! when the USIM holds a home network public key, otherwise the SUPI or, on request, the
//! null-scheme SUCI. Concealment is `akma_core::suci`'s.

use akma_core::suci::{self, Protection, SuciError};
use rand_core::OsRng;

use crate::usim::Usim;

/// Which identity to send in the registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityChoice {
    /// The SUCI under the provisioned home network key if there is one, else the SUPI.
    #[default]
    Auto,
    /// The SUPI itself.
    Supi,
    /// The null-scheme SUCI (TS 33.501 Annex C.2).
    NullSchemeSuci,
}

/// Why no identity could be produced.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the SUCI: {0}")]
pub struct IdentityError(#[from] pub SuciError);

/// The `supiOrSuci` string for the registration. ECIES draws a fresh ephemeral key from
/// the operating system's generator, so each registration sends a different SUCI.
pub fn registration_identity(usim: &Usim, choice: IdentityChoice) -> Result<String, IdentityError> {
    let protection = match (choice, usim.hn_public_key()) {
        (IdentityChoice::Supi, _) | (IdentityChoice::Auto, None) => {
            return Ok(usim.supi().as_str().to_owned())
        }
        (IdentityChoice::NullSchemeSuci, _) => Protection::Null,
        (IdentityChoice::Auto, Some(hn)) => Protection::Ecies(hn),
    };
    let suci = suci::conceal(
        usim.supi(),
        usim.mnc_len(),
        usim.routing_indicator(),
        protection,
        &mut OsRng,
    )?;
    Ok(suci.as_str().to_owned())
}
