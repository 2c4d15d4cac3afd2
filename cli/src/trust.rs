//! The verifier's trusted keys, from flags or a tlog-policy file.

use std::path::Path;

use anyhow::Context as _;
use sigtrail_client::Policy;
use sigtrail_note::VerifierKey;

use crate::args::TrustArgs;
use crate::VerificationFailed;

/// Builds the policy the flags describe. A key file or policy that cannot
/// be read is an error; one that does not parse fails verification, since
/// nothing can be verified against it.
pub(crate) fn policy(args: &TrustArgs) -> anyhow::Result<Policy> {
    if let Some(path) = &args.policy {
        let text = std::fs::read(path)
            .with_context(|| format!("reading policy file {}", path.display()))?;
        return Policy::parse(&text)
            .map_err(|e| VerificationFailed(format!("{}: {e}", path.display())).into());
    }
    let log = args
        .log_key
        .as_deref()
        .context("give --log-key or --policy")?;
    let log = verifier_key(log)?;
    let witnesses = args
        .witness
        .iter()
        .map(|w| verifier_key(w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let k = args.quorum.unwrap_or(witnesses.len());
    Policy::k_of_n(log, witnesses, k).map_err(|e| VerificationFailed(e.to_string()).into())
}

/// A verifier key given literally or as a file holding it. An argument
/// without `+` cannot be a key: it is a file that must exist.
pub(crate) fn verifier_key(arg: &str) -> anyhow::Result<VerifierKey> {
    let path = Path::new(arg);
    let (text, what) = if path.is_file() || !arg.contains('+') {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading key file {arg}"))?;
        (text.trim_end().to_owned(), format!("key file {arg}"))
    } else {
        (arg.to_owned(), format!("key {arg:?}"))
    };
    text.parse()
        .map_err(|e| VerificationFailed(format!("trusted keys: {what}: {e}")).into())
}
