//! Shared test helpers: a store on each backend, each test in its own database/schema.

#![allow(dead_code)]

use omnikb::store::Store;

/// A store plus whatever must be cleaned up after it.
pub struct TestDb {
    pub store: Store,
    pub label: &'static str,
    schema: Option<(String, String)>,
}

impl TestDb {
    /// The PostgreSQL schema this test owns, if any.
    pub fn schema_name(&self) -> Option<&str> {
        self.schema.as_ref().map(|(_, s)| s.as_str())
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((url, schema)) = self.schema
            && let Ok(admin) = Store::open_postgres(&url, None).await
        {
            let _ = admin
                .execute_raw(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await;
            admin.close().await;
        }
    }
}

/// SQLite always; PostgreSQL too when `OMNIKB_TEST_POSTGRES` names a server. Each gets a
/// fresh, migrated database (a new schema on PostgreSQL).
pub async fn databases() -> Vec<TestDb> {
    let mut out = Vec::new();
    let sqlite = Store::open_sqlite_memory().await.expect("sqlite memory");
    sqlite.migrate().await.expect("migrate sqlite");
    out.push(TestDb {
        store: sqlite,
        label: "sqlite",
        schema: None,
    });
    if let Ok(url) = std::env::var("OMNIKB_TEST_POSTGRES") {
        let schema = format!(
            "t_{}",
            omnikb::util::random_token(9)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let admin = Store::open_postgres(&url, None)
            .await
            .expect("connect to OMNIKB_TEST_POSTGRES");
        admin
            .execute_raw(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create schema");
        admin.close().await;
        let pg = Store::open_postgres(&url, Some(&schema))
            .await
            .expect("connect with schema");
        pg.migrate().await.expect("migrate postgres");
        out.push(TestDb {
            store: pg,
            label: "postgres",
            schema: Some((url, schema)),
        });
    }
    out
}
