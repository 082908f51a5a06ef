//! The browser UI through the router (no socket): login redirect and failure message,
//! field errors next to their field, and the portal never showing internal content.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use omnikb::config::Config;
use omnikb::service::{Kb, SystemClock};
use omnikb::state::AppState;
use omnikb::store::{ArticleFilter, Store};
use tower::ServiceExt;

struct App {
    router: axum::Router,
    kb: Kb,
    passwords: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let store = Store::open_sqlite_memory().await.unwrap();
    store.migrate().await.unwrap();
    let kb = Kb::new(
        store,
        omnikb::schema::SchemaSet::bundled().unwrap(),
        omnikb::render::default_registry(),
        Default::default(),
        Arc::new(SystemClock),
    );
    let dir = tempfile::tempdir().unwrap();
    let (passwords, _) = omnikb::demo::load(&kb, dir.path()).await.unwrap();
    omnikb::demo::load_synonyms(&kb).await.unwrap();
    // The pages search the node's index, as `omnikb serve` has one.
    let index = omnikb::search::SearchIndex::in_memory().unwrap();
    kb.reindex(&index, &|_, _| {}).await.unwrap();
    kb.set_search(index);
    let config = Config::from_env(dir.path().to_path_buf(), "127.0.0.1:0".parse().unwrap());
    let router = omnikb::build_router(AppState::new(kb.clone(), config));
    App {
        router,
        kb,
        passwords,
        _dir: dir,
    }
}

struct Res {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &App, req: Request<Body>) -> Res {
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Res {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn get(app: &App, path: &str, cookie: &str) -> Res {
    send(
        app,
        Request::get(path)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn post_form(app: &App, path: &str, cookie: &str, form: &[(&str, &str)]) -> Res {
    send(
        app,
        Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
            .unwrap(),
    )
    .await
}

fn set_cookies(h: &axum::http::HeaderMap) -> Vec<String> {
    h.get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .collect()
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).expect("hidden field") + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_string()
}

/// Logs in through the form; returns the cookie header to send afterwards.
async fn login(app: &App, name: &str) -> String {
    let page = get(app, "/studio/login", "").await;
    let form_cookie = set_cookies(&page.headers).join("; ");
    let csrf = hidden(&page.body, "_csrf");
    let pw = app
        .passwords
        .iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1
        .clone();
    let res = post_form(
        app,
        "/studio/login",
        &form_cookie,
        &[
            ("_csrf", &csrf),
            ("name", name),
            ("password", &pw),
            ("next", "/studio"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mut cookies = set_cookies(&res.headers);
    cookies.push(form_cookie);
    cookies.join("; ")
}

#[tokio::test]
async fn studio_requires_login_and_explains_a_failed_login() {
    let app = app().await;
    let res = get(&app, "/studio", "").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/studio/login")
    );
    let res = get(&app, "/agent", "").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let page = get(&app, "/studio/login", "").await;
    assert!(page.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    let cookie = set_cookies(&page.headers).join("; ");
    let csrf = hidden(&page.body, "_csrf");
    let res = post_form(
        &app,
        "/studio/login",
        &cookie,
        &[("_csrf", &csrf), ("name", "author"), ("password", "nope")],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.body.contains("用户名或密码错误"), "{}", res.body);
    // Without the form token the login is refused.
    let res = post_form(
        &app,
        "/studio/login",
        "",
        &[("name", "author"), ("password", "nope")],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    let cookie = login(&app, "author").await;
    let res = get(&app, "/studio", &cookie).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("broadband") || res.body.contains("宽带"));
}

#[tokio::test]
async fn field_errors_are_shown_next_to_their_field() {
    let app = app().await;
    let cookie = login(&app, "author").await;
    let form = get(&app, "/studio/new?type=troubleshooting", &cookie).await;
    assert!(form.body.contains("name=\"f.issue\""));
    assert!(form.body.contains("问题现象"));
    let csrf = hidden(&form.body, "_csrf");
    let res = post_form(
        &app,
        "/studio/new",
        &cookie,
        &[
            ("_csrf", &csrf),
            ("type", "troubleshooting"),
            ("title", "测试文章"),
            ("slug", "ui-test-article"),
            ("locale", "zh-CN"),
            ("f.issue", "x"),
            ("body", "1. 重启"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let at = res
        .body
        .find("data-field=\"f.issue\"")
        .expect("issue field");
    let block = &res.body[at..at + res.body[at..].find("</div>").unwrap()];
    assert!(
        block.contains("field-error"),
        "error next to the field: {block}"
    );
    // A wrong CSRF token is refused.
    let res = post_form(
        &app,
        "/studio/new",
        &cookie,
        &[("_csrf", "wrong"), ("type", "faq")],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

/// The portal and the agent panel search the index: colloquial Chinese finds the broadband
/// article, and internal articles are found by agents only.
#[tokio::test]
async fn portal_and_agent_search_use_the_index() {
    let app = app().await;
    let q = "%E5%AE%B6%E9%87%8C%E4%B8%8A%E4%B8%8D%E4%BA%86%E7%BD%91"; // 家里上不了网
    let portal = get(&app, &format!("/search?q={q}"), "").await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(
        portal.body.contains("/kb/zh-CN/broadband-no-internet"),
        "{}",
        portal.body
    );

    let complaint = "%E6%8A%95%E8%AF%89%E5%8D%87%E7%BA%A7"; // 投诉升级
    let portal = get(&app, &format!("/search?q={complaint}"), "").await;
    assert!(!portal.body.contains("agent-complaint-escalation"));

    let anon = get(&app, &format!("/agent/search?q={complaint}"), "").await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let cookie = login(&app, "agent").await;
    let agent = get(&app, &format!("/agent/search?q={complaint}"), &cookie).await;
    assert_eq!(agent.status, StatusCode::OK);
    let hits: serde_json::Value = serde_json::from_str(&agent.body).unwrap();
    let slugs: Vec<&str> = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["slug"].as_str())
        .collect();
    assert!(slugs.contains(&"agent-complaint-escalation"), "{slugs:?}");

    // Nothing matching is an empty list.
    let none = get(&app, "/agent/search?q=zzqxv", &cookie).await;
    assert_eq!(none.body.matches("\"slug\"").count(), 0, "{}", none.body);

    // A portal search that finds nothing reaches the editors' zero-result queries (the
    // analytics writer is asynchronous, so wait for it).
    let gap = get(&app, "/search?q=qqzvgap", "").await;
    assert_eq!(gap.status, StatusCode::OK);
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut logged = false;
    for _ in 0..50 {
        let a = app.kb.store.search_analytics(since, 50).await.unwrap();
        if a.zero_result_queries.iter().any(|q| q.q == "qqzvgap") {
            assert!(a.top_queries.iter().any(|q| q.q == "家里上不了网"), "{a:?}");
            logged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(logged, "the portal's zero-result search was not recorded");
}

#[tokio::test]
async fn the_portal_never_shows_internal_content() {
    let app = app().await;
    let list = app
        .kb
        .store
        .list_articles(&ArticleFilter::default())
        .await
        .unwrap();
    // Every 10-character piece of every internal note and internal block.
    let mut secrets = Vec::new();
    let mut internal_pages = Vec::new();
    let mut public = String::new();
    for s in &list {
        let rev = app
            .kb
            .store
            .revision(s.article.id, s.article.latest_revision)
            .await
            .unwrap()
            .unwrap();
        let mut texts = Vec::new();
        if let Some(n) = rev
            .meta
            .fields
            .get("internal_notes")
            .and_then(|v| v.as_str())
        {
            texts.push(n.to_string());
        }
        texts.extend(
            omnikb::ui::content::body_for(&rev.body, omnikb::domain::Channel::Agent).internal,
        );
        for t in texts {
            // Chinese: every 10 characters. Latin text: 10 characters are often one
            // ordinary word ("suspension") that public text uses too, so take 24.
            let chars: Vec<char> = t.chars().filter(|c| !c.is_whitespace()).collect();
            let cjk = chars.iter().filter(|c| **c > '\u{2e80}').count() * 3 > chars.len();
            for w in chars.windows(if cjk { 10 } else { 24 }) {
                secrets.push(w.iter().collect::<String>());
            }
        }
        // Public text of the article: a note may quote it (a title, a step) legitimately.
        if rev.meta.audience == omnikb::domain::Audience::Public {
            public.push_str(&rev.meta.title);
            for (k, v) in &rev.meta.fields {
                if k != "internal_notes" {
                    public.push_str(&v.to_string());
                }
            }
            public.push_str(
                &omnikb::ui::content::body_for(&rev.body, omnikb::domain::Channel::Web).shown,
            );
        }
        if rev.meta.audience == omnikb::domain::Audience::Internal {
            internal_pages.push(format!("/kb/{}/{}", s.article.locale, s.article.slug));
        }
    }
    let public: String = public.chars().filter(|c| !c.is_whitespace()).collect();
    secrets.retain(|s| !public.contains(s.as_str()));
    assert!(!secrets.is_empty(), "the demo has internal notes");
    assert!(!internal_pages.is_empty(), "the demo has internal articles");
    let mut pages = vec![
        "/".to_string(),
        "/?lang=en".to_string(),
        "/search?q=%E5%AE%BD%E5%B8%A6".into(),
    ];
    for s in &list {
        pages.push(format!("/kb/{}/{}", s.article.locale, s.article.slug));
    }
    let mut served = 0;
    for p in &pages {
        let res = get(&app, p, "").await;
        if res.status == StatusCode::OK {
            served += 1;
            for s in &secrets {
                let plain: String = res.body.chars().filter(|c| !c.is_whitespace()).collect();
                assert!(!plain.contains(s.as_str()), "{p} shows internal text '{s}'");
            }
        }
    }
    assert!(served > 10, "portal pages served: {served}");
    for p in &internal_pages {
        assert_eq!(get(&app, p, "").await.status, StatusCode::NOT_FOUND, "{p}");
    }
    assert_eq!(
        get(&app, "/kb/zh-CN/no-such-article", "").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn expired_articles_are_gone_from_the_portal() {
    let app = app().await;
    let now = app.kb.now();
    let list = app
        .kb
        .store
        .list_articles(&ArticleFilter {
            published_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut checked = 0;
    for s in list {
        let rev = app
            .kb
            .store
            .revision(s.article.id, s.article.published_revision.unwrap())
            .await
            .unwrap()
            .unwrap();
        let status = rev.meta.validity.status_at(now);
        if status != omnikb::domain::ValidityStatus::Valid {
            let p = format!("/kb/{}/{}", s.article.locale, s.article.slug);
            assert_eq!(get(&app, &p, "").await.status, StatusCode::NOT_FOUND, "{p}");
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "the demo has expired or not yet effective articles"
    );
}

/// The studio's snippet pages: "used by N", an edit with its impact preview shown before
/// review, a stale edit refused as a conflict, and field errors next to their field.
#[tokio::test]
async fn snippet_pages_show_usage_impact_and_errors() {
    let app = app().await;
    let cookie = login(&app, "author").await;
    let list = get(&app, "/studio/snippets", &cookie).await;
    assert_eq!(list.status, StatusCode::OK);
    let row = &list.body[list
        .body
        .find("/studio/snippets/zh-CN/hotline")
        .expect("hotline row")..];
    let used: i64 = row[row.find("class=\"used-by\">").unwrap() + 16..]
        .split('<')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(used > 0, "the demo articles use the hotline: {used}");

    let page = get(&app, "/studio/snippets/zh-CN/hotline", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("id=\"impact\""),
        "nothing pending: no preview"
    );
    let csrf = hidden(&page.body, "_csrf");
    let base = hidden(&page.body, "base_revision");
    let edit = |base: String, body: &'static str| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        let app = &app;
        async move {
            post_form(
                app,
                "/studio/snippets/zh-CN/hotline",
                &cookie,
                &[
                    ("_csrf", csrf.as_str()),
                    ("base_revision", base.as_str()),
                    ("title", "客服热线"),
                    ("say_as", "telephone"),
                    ("body", body),
                ],
            )
            .await
        }
    };
    let res = edit(base.clone(), "95555").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = get(&app, "/studio/snippets/zh-CN/hotline", &cookie).await;
    let impact = &page.body[page.body.find("id=\"impact\"").expect("impact preview")..];
    let changed: i64 = impact[impact.find("id=\"impact-changed\">").unwrap() + 20..]
        .split('<')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(changed > 0, "{impact}");
    assert!(
        impact.contains("+") && impact.contains("95555"),
        "diff shows the new value"
    );

    // The same base again: someone (this author) saved in between.
    let res = edit(base, "12345").await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(res.body.contains("id=\"form-banner\""));

    // A new snippet without a title: the error is next to the title field.
    let res = post_form(
        &app,
        "/studio/snippets/new",
        &cookie,
        &[
            ("_csrf", &csrf),
            ("key", "new-fee"),
            ("locale", "zh-CN"),
            ("title", ""),
            ("body", "20元"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("id=\"err-title\""), "{}", res.body);
    assert!(
        app.kb
            .store
            .snippet("new-fee", "zh-CN")
            .await
            .unwrap()
            .is_none(),
        "nothing saved"
    );
}

/// The admin pages: admins only, CSRF-checked, errors next to their field, an API key's
/// secret shown once, and the same rules as the JSON API (one service behind both).
#[tokio::test]
async fn admin_pages_are_for_admins_with_csrf_field_errors_and_a_key_shown_once() {
    let app = app().await;
    // Non-admins are refused, for pages and for forms.
    let author = login(&app, "author").await;
    for path in [
        "/studio/admin",
        "/studio/admin/keys",
        "/studio/admin/webhooks",
        "/studio/admin/synonyms",
        "/studio/admin/analytics",
    ] {
        let res = get(&app, path, &author).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
    }
    let author_page = get(&app, "/studio", &author).await;
    let author_csrf = hidden(&author_page.body, "_csrf");
    let res = post_form(
        &app,
        "/studio/admin/keys",
        &author,
        &[
            ("_csrf", &author_csrf),
            ("name", "sneaky"),
            ("scope", "bot"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let keys_before = app.kb.store.list_api_keys().await.unwrap().len();
    assert_eq!(keys_before, 0, "the refused form created nothing");

    let admin = login(&app, "admin").await;
    let page = get(&app, "/studio/admin/keys", &admin).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = hidden(&page.body, "_csrf");

    // A wrong CSRF token changes nothing.
    let res = post_form(
        &app,
        "/studio/admin/keys",
        &admin,
        &[("_csrf", "forged"), ("name", "chatbot"), ("scope", "bot")],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("表单已过期"));
    assert!(app.kb.store.list_api_keys().await.unwrap().is_empty());

    // Field errors: an editor key without a user, next to the user field.
    let res = post_form(
        &app,
        "/studio/admin/keys",
        &admin,
        &[
            ("_csrf", &csrf),
            ("name", "ci"),
            ("scope", "editor"),
            ("user", ""),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let err_at = res
        .body
        .find("id=\"err-user\"")
        .expect("error next to user");
    let field_at = res.body.find("id=\"nk-user\"").unwrap();
    assert!(
        err_at > field_at && err_at - field_at < 600,
        "the error follows its field"
    );
    assert!(
        res.body.contains("密钥以某个用户的身份操作"),
        "zh-CN message"
    );

    // A bot key: the secret is on the answer to the POST, and only there.
    let res = post_form(
        &app,
        "/studio/admin/keys",
        &admin,
        &[
            ("_csrf", &csrf),
            ("name", "chatbot"),
            ("scope", "bot"),
            ("user", ""),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let start = res.body.find("id=\"secret-value\">").expect("secret shown") + 18;
    let secret = &res.body[start..start + res.body[start..].find('<').unwrap()];
    assert!(secret.starts_with("okb_"), "{secret}");
    assert_eq!(res.headers[header::CACHE_CONTROL], "no-store");
    let again = get(&app, "/studio/admin/keys", &admin).await;
    assert!(
        !again.body.contains(secret),
        "the secret is not shown again"
    );
    assert!(again.body.contains("chatbot"));
    // The key works against the API.
    let api = send(
        &app,
        Request::get("/api/v1/articles/broadband-no-internet?locale=zh-CN")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(api.status, StatusCode::OK);
    // Revoke it: the API refuses it afterwards.
    let id = app.kb.store.list_api_keys().await.unwrap()[0].id;
    let res = post_form(
        &app,
        &format!("/studio/admin/keys/{id}/revoke"),
        &admin,
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let api = send(
        &app,
        Request::get("/api/v1/articles/broadband-no-internet?locale=zh-CN")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);

    // Users: a short password is reported next to the password field; a good user is made.
    let res = post_form(
        &app,
        "/studio/admin/users",
        &admin,
        &[
            ("_csrf", &csrf),
            ("name", "new.editor"),
            ("roles", "author"),
            ("roles", "reviewer"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("id=\"err-password\""));
    assert!(
        res.body.contains("value=\"new.editor\""),
        "the form keeps what was typed"
    );
    let res = post_form(
        &app,
        "/studio/admin/users",
        &admin,
        &[
            ("_csrf", &csrf),
            ("name", "new.editor"),
            ("roles", "author"),
            ("roles", "reviewer"),
            ("password", "long-enough-password"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let user = app
        .kb
        .store
        .user_by_name("new.editor")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.roles.to_db(), "author,reviewer");
    // The same name again: a conflict, next to the name field.
    let res = post_form(
        &app,
        "/studio/admin/users",
        &admin,
        &[
            ("_csrf", &csrf),
            ("name", "new.editor"),
            ("password", "long-enough-password"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("id=\"err-name\""));
    // Change roles and disable.
    let res = post_form(
        &app,
        &format!("/studio/admin/users/{}", user.id.0),
        &admin,
        &[("_csrf", &csrf), ("roles", "agent"), ("disabled", "on")],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let user = app.kb.store.user_by_id(user.id).await.unwrap().unwrap();
    assert!(user.disabled);
    assert_eq!(user.roles.to_db(), "agent");
    // An admin cannot disable themselves.
    let me = app.kb.store.user_by_name("admin").await.unwrap().unwrap();
    let res = post_form(
        &app,
        &format!("/studio/admin/users/{}", me.id.0),
        &admin,
        &[("_csrf", &csrf), ("roles", "admin"), ("disabled", "on")],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("不能停用自己的账号"));
    assert!(
        !app.kb
            .store
            .user_by_id(me.id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    // Webhooks: a bad URL next to its field; a good one shows its secret once and has a page.
    let res = post_form(
        &app,
        "/studio/admin/webhooks",
        &admin,
        &[("_csrf", &csrf), ("url", "ftp://example.com/hook")],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("id=\"err-url\""));
    let res = post_form(
        &app,
        "/studio/admin/webhooks",
        &admin,
        &[
            ("_csrf", &csrf),
            ("url", "http://127.0.0.1:9/hook"),
            ("events", "article.published"),
            ("locales", "zh-CN"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert!(res.body.contains("id=\"secret-value\""));
    let hook = app.kb.store.webhooks().await.unwrap().remove(0);
    assert_eq!(hook.events, vec!["article.published"]);
    let page = get(&app, &format!("/studio/admin/webhooks/{}", hook.id), &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"delivery-log\""));
    // Edit: a too-short new secret is refused next to its field; a new URL is saved.
    let res = post_form(
        &app,
        &format!("/studio/admin/webhooks/{}", hook.id),
        &admin,
        &[
            ("_csrf", &csrf),
            ("url", "https://example.com/h"),
            ("secret", "short"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("id=\"err-secret\""));
    let res = post_form(
        &app,
        &format!("/studio/admin/webhooks/{}", hook.id),
        &admin,
        &[
            ("_csrf", &csrf),
            ("url", "https://example.com/h"),
            ("secret", ""),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let edited = app.kb.store.webhook(hook.id).await.unwrap().unwrap();
    assert_eq!(edited.url, "https://example.com/h");
    assert_eq!(
        edited.secret, hook.secret,
        "an empty secret keeps the old one"
    );
    assert!(edited.events.is_empty());

    // Synonyms: a one-term line is reported with its line number, under its locale.
    let res = post_form(
        &app,
        "/studio/admin/synonyms",
        &admin,
        &[("_csrf", &csrf), ("zh-CN", "宽带, 网络\n光猫"), ("en", "")],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("id=\"err-syn-zh-CN\""));
    assert!(res.body.contains("第 2 行"));
    let res = post_form(
        &app,
        "/studio/admin/synonyms",
        &admin,
        &[
            ("_csrf", &csrf),
            ("zh-CN", "宽带，网络，网"),
            ("en", "wifi, wlan"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let sets = app.kb.store.synonym_sets().await.unwrap();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0].terms, vec!["宽带", "网络", "网"]);

    // Analytics: searches, feedback (an outdated flag with its comment), review due.
    let article = app
        .kb
        .store
        .list_articles(&ArticleFilter {
            published_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    let fb = send(
        &app,
        Request::post(format!(
            "/api/v1/articles/{}/feedback",
            article.article.id.display()
        ))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"kind": "outdated", "channel": "web", "comment": "资费已调整ZX81"}"#,
        ))
        .unwrap(),
    )
    .await;
    assert!(fb.status.is_success(), "{} {}", fb.status, fb.body);
    let page = get(&app, "/studio/admin/analytics", &admin).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("资费已调整ZX81"));
    assert!(page.body.contains("id=\"fb-outdated\">1<"));
    assert!(page.body.contains("id=\"review-due\""));
}
