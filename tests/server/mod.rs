//! A real omnikb server for HTTP tests: one user and one API key per role, a manual
//! clock the test moves, on whichever store the test gives it.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use omnikb::config::Config;
use omnikb::domain::{Role, Roles};
use omnikb::service::{Kb, ManualClock};
use omnikb::state::AppState;
use omnikb::store::{ApiScope, Store};
use serde_json::{Value, json};

pub struct Server {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub kb: Kb,
    pub keys: std::collections::HashMap<&'static str, String>,
    pub http: reqwest::Client,
}

pub async fn start(store: Store) -> Server {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap(),
    ));
    let schemas = omnikb::schema::SchemaSet::bundled().unwrap();
    let kb = Kb::new(
        store,
        schemas,
        omnikb::render::default_registry(),
        Default::default(),
        clock.clone(),
    );
    let mut keys = std::collections::HashMap::new();
    // "author" is also a reviewer and a publisher, so refusing their approval of their own
    // change can only come from the four-eyes rule.
    let users: [(&str, &[Role]); 6] = [
        ("author", &[Role::Author, Role::Reviewer, Role::Publisher]),
        ("author2", &[Role::Author]),
        ("reviewer", &[Role::Reviewer]),
        ("reviewer2", &[Role::Reviewer]),
        ("publisher", &[Role::Publisher]),
        ("agent", &[Role::Agent]),
    ];
    for (name, roles) in users {
        let role = roles[0];
        let user = kb
            .store
            .create_user(
                &format!("t-{name}"),
                name,
                "x",
                &Roles(roles.to_vec()),
                clock.now_utc(),
            )
            .await
            .unwrap();
        let (full, prefix, hash) = omnikb::auth::new_api_key().unwrap();
        let scope = if role == Role::Agent {
            ApiScope::Agent
        } else {
            ApiScope::Editor
        };
        kb.store
            .create_api_key(name, &prefix, &hash, scope, Some(user.id), clock.now_utc())
            .await
            .unwrap();
        keys.insert(name, full);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = Config::from_env(std::env::temp_dir(), listener.local_addr().unwrap());
    let state = AppState::new(kb.clone(), config);
    tokio::spawn(omnikb::run(state, listener, std::future::pending()));
    Server {
        base,
        clock,
        kb,
        keys,
        http: reqwest::Client::new(),
    }
}

pub trait NowUtc {
    fn now_utc(&self) -> chrono::DateTime<Utc>;
}
impl NowUtc for ManualClock {
    fn now_utc(&self) -> chrono::DateTime<Utc> {
        omnikb::service::Clock::now(self)
    }
}

impl Server {
    pub async fn call(
        &self,
        who: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = self.keys.get(who) {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn act(
        &self,
        who: &str,
        id: &str,
        action: &str,
        comment: Option<&str>,
        at: Option<&str>,
    ) -> (u16, Value) {
        let mut body = json!({"action": action});
        if let Some(c) = comment {
            body["comment"] = json!(c);
        }
        if let Some(a) = at {
            body["at"] = json!(a);
        }
        self.call(
            who,
            reqwest::Method::POST,
            &format!("/api/v1/articles/{id}/transitions"),
            Some(body),
        )
        .await
    }

    pub async fn public_status(&self, id: &str) -> u16 {
        self.call(
            "nobody",
            reqwest::Method::GET,
            &format!("/api/v1/articles/{id}"),
            None,
        )
        .await
        .0
    }
}
