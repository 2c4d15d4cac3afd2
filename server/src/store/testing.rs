//! Throwaway PostgreSQL databases for tests.
//!
//! Compiled for this crate's tests and, with the `testing` feature, for
//! integration and end-to-end tests; it needs no dev-dependency.
//!
//! PostgreSQL tests connect to `SIGTRAIL_TEST_DATABASE_URL` (default
//! [`DEFAULT_TEST_DATABASE_URL`]), create a database of their own and drop
//! it when done, even if they panic. When no server answers they print a
//! `skipping` line and pass, except when the `CI` variable is set: then
//! they fail.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

/// Where the PostgreSQL tests connect without `SIGTRAIL_TEST_DATABASE_URL`.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// How long a test waits for PostgreSQL to answer before it skips (or fails).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL database created for one test and dropped with this value.
#[derive(Debug)]
pub struct TestDatabase {
    admin: PgConnectOptions,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a database with a name no other test uses.
    ///
    /// Returns `None`, after printing why, if PostgreSQL is unreachable and
    /// `CI` is not set.
    ///
    /// # Panics
    ///
    /// If PostgreSQL is unreachable and `CI` is set, or if the server
    /// refuses to create the database.
    pub async fn create() -> Option<TestDatabase> {
        let admin_url = std::env::var("SIGTRAIL_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let admin = PgConnectOptions::from_str(&admin_url)
            .unwrap_or_else(|err| panic!("bad SIGTRAIL_TEST_DATABASE_URL {admin_url}: {err}"));
        let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, admin.connect()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return unreachable_server(&admin_url, &err),
            Err(elapsed) => return unreachable_server(&admin_url, &elapsed),
        };
        let name = unique_name();
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|err| panic!("creating test database {name}: {err}"));
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Some(TestDatabase { admin, name, url })
    }

    /// The URL of the test database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A copy of this database as it is now (`CREATE DATABASE … TEMPLATE`),
    /// dropped like any test database. Nothing may be connected to this
    /// one while it is copied.
    ///
    /// # Panics
    ///
    /// If the server refuses the copy.
    pub async fn snapshot(&self) -> TestDatabase {
        let name = unique_name();
        let mut conn = self.admin.connect().await.expect("connect to PostgreSQL");
        conn.execute(format!("CREATE DATABASE {name} TEMPLATE {}", self.name).as_str())
            .await
            .unwrap_or_else(|err| panic!("copying test database {} to {name}: {err}", self.name));
        let url = self
            .admin
            .clone()
            .database(&name)
            .to_url_lossy()
            .to_string();
        TestDatabase {
            admin: self.admin.clone(),
            name,
            url,
        }
    }
}

impl Drop for TestDatabase {
    /// Drops the database from a thread of its own, whatever runtime (if
    /// any) is dropping this value; `WITH (FORCE)` closes connections a
    /// pool still holds.
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = admin.connect().await?;
                conn.execute(sql.as_str()).await?;
                conn.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("could not drop test database {}: {err}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: thread panicked",
                self.name
            ),
        }
    }
}

/// `sigtrail_test_<pid>_<counter>_<nanos>`: unique across processes and runs.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!(
        "sigtrail_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn unreachable_server(url: &str, err: &dyn std::fmt::Display) -> Option<TestDatabase> {
    assert!(
        std::env::var_os("CI").is_none(),
        "PostgreSQL not reachable at {url} and CI is set: {err}"
    );
    eprintln!("skipping: PostgreSQL not reachable at {url}: {err}");
    None
}
