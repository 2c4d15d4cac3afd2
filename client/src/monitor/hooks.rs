//! Delivering alerts beyond stdout: a webhook and a command.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::Alert;
use crate::Error;

/// A webhook that alerts are POSTed to as JSON.
#[derive(Clone, Debug)]
pub struct Webhook {
    http: reqwest::Client,
    url: String,
}

impl Webhook {
    /// A webhook at `url`, each request given `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Http`] when the HTTP client cannot be built.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(Error::Http)?;
        Ok(Webhook {
            http,
            url: url.to_owned(),
        })
    }

    /// POSTs `alert` as JSON, trying up to `attempts` times (at least
    /// once) and doubling the pause between tries from `backoff`. Any 2xx
    /// answer is delivery.
    ///
    /// # Errors
    ///
    /// [`Error::Webhook`] with the last failure when no attempt succeeded.
    pub async fn post(&self, alert: &Alert, attempts: u32, backoff: Duration) -> Result<(), Error> {
        let (http, url) = (&self.http, self.url.as_str());
        let attempts = attempts.max(1);
        let mut pause = backoff;
        let mut attempt = 1;
        loop {
            let failure = match http.post(url).json(alert).send().await {
                Ok(answer) if answer.status().is_success() => return Ok(()),
                Ok(answer) => Error::Status {
                    url: url.to_owned(),
                    status: answer.status().as_u16(),
                    message: String::new(),
                },
                Err(e) => Error::Http(e),
            };
            if attempt >= attempts {
                return Err(Error::Webhook {
                    attempts,
                    source: Box::new(failure),
                });
            }
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2);
            attempt += 1;
        }
    }
}

/// Runs `command` with `sh -c`, the alert's JSON line on its stdin, and
/// waits for it.
///
/// # Errors
///
/// [`Error::HookSpawn`] when it cannot be started or fed,
/// [`Error::HookFailed`] when it exits unsuccessfully.
pub fn run_command(command: &str, alert: &Alert) -> Result<(), Error> {
    let mut line = serde_json::to_vec(alert).map_err(|e| Error::HookSpawn(e.into()))?;
    line.push(b'\n');
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(Error::HookSpawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is not a failure.
        match stdin.write_all(&line) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(Error::HookSpawn(e))
            }
            _ => {}
        }
    }
    let status = child.wait().map_err(Error::HookSpawn)?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::HookFailed {
            code: status.code(),
        })
    }
}
