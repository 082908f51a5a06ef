//! The storage suite: the same tests on SQLite and (when `OMNIKB_TEST_POSTGRES` is set)
//! PostgreSQL.

mod db;

use chrono::{TimeZone, Utc};
use omnikb::domain::{
    ArticleId, ArticleMeta, Audience, Confidence, Locale, RevisionState, Role, Roles, Slug,
    Validity,
};
use omnikb::store::{AuditVerdict, EventKind, NewRevision, StoreError, TransitionRecord};
use omnikb::workflow::Action;

fn t(h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, h, 0, 0).unwrap()
}

fn meta(title: &str) -> ArticleMeta {
    ArticleMeta {
        title: title.into(),
        category: Some("宽带/故障".into()),
        tags: vec!["宽带".into()],
        audience: Audience::Public,
        validity: Validity {
            expires_at: Some(t(23)),
            ..Validity::default()
        },
        fields: serde_json::json!({"issue": "家里宽带无法上网"})
            .as_object()
            .cloned()
            .unwrap(),
    }
}

#[tokio::test]
async fn article_lifecycle_rows_events_and_audit() {
    for db in db::databases().await {
        let s = &db.store;
        let label = db.label;
        let author = s
            .create_user("author", "A", "hash", &Roles(vec![Role::Author]), t(1))
            .await
            .unwrap();
        let slug: Slug = "broadband-no-internet".parse().unwrap();
        let locale: Locale = "zh-CN".parse().unwrap();
        let m1 = meta("宽带无法上网怎么办");
        let rev = NewRevision {
            meta: &m1,
            body: "1. 重启光猫。\n",
            author: Some(author.id),
            actor: "author",
            now: t(2),
        };
        let (article, r1) = s
            .create_article(
                &slug,
                &locale,
                "troubleshooting",
                "broadband-no-internet",
                Confidence::Wip,
                rev,
            )
            .await
            .unwrap();
        assert_eq!(r1.number, 1, "{label}");
        assert_eq!(r1.state, RevisionState::Draft, "{label}");
        assert_eq!(
            r1.meta, m1,
            "{label}: revision round-trips through the database"
        );

        // Duplicate slug in the same locale is a conflict, and nothing is half-written.
        let dup = s
            .create_article(
                &slug,
                &locale,
                "faq",
                "x",
                Confidence::Wip,
                NewRevision {
                    meta: &m1,
                    body: "",
                    author: None,
                    actor: "a",
                    now: t(2),
                },
            )
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict { .. })),
            "{label}: {dup:?}"
        );
        assert_eq!(s.count_articles().await.unwrap(), 1, "{label}");

        // Optimistic concurrency: saving on a stale base is refused with both numbers.
        let m2 = meta("宽带无法上网怎么办（新）");
        let r2 = s
            .save_draft(
                article.id,
                1,
                NewRevision {
                    meta: &m2,
                    body: "1. 先重启光猫。\n",
                    author: Some(author.id),
                    actor: "author",
                    now: t(3),
                },
            )
            .await
            .unwrap();
        assert_eq!(r2.number, 2);
        assert_eq!(r2.base_revision, Some(1));
        let stale = s
            .save_draft(
                article.id,
                1,
                NewRevision {
                    meta: &m2,
                    body: "x",
                    author: None,
                    actor: "author",
                    now: t(3),
                },
            )
            .await;
        match stale {
            Err(StoreError::Conflict { latest, base, .. }) => {
                assert_eq!((latest, base), (Some(2), Some(1)), "{label}")
            }
            other => panic!("{label}: expected conflict, got {other:?}"),
        }
        assert_eq!(
            s.revision(article.id, 1).await.unwrap().unwrap().state,
            RevisionState::Superseded,
            "{label}"
        );

        // A transition is checked against the state it expects (compare-and-set).
        let submit = TransitionRecord {
            article_id: article.id,
            revision: 2,
            action: Action::Submit,
            from: RevisionState::Draft,
            to: RevisionState::InReview,
            actor: Some(author.id),
            actor_name: "author",
            comment: None,
            at: t(4),
            records_approval: false,
            scheduled_at: None,
            review_by: None,
        };
        s.apply_transition(&submit).await.unwrap();
        assert!(
            matches!(
                s.apply_transition(&submit).await,
                Err(StoreError::Conflict { .. })
            ),
            "{label}: a replayed transition must fail"
        );
        let publish = TransitionRecord {
            action: Action::Publish,
            from: RevisionState::InReview,
            to: RevisionState::Published,
            at: t(5),
            ..submit.clone()
        };
        s.apply_transition(&publish).await.unwrap();
        let a = s.article(article.id).await.unwrap().unwrap();
        assert_eq!(a.published_revision, Some(2), "{label}");
        assert_eq!(s.transitions(article.id).await.unwrap().len(), 2, "{label}");

        // The outbox: gap-free, ordered, with the publish event last.
        let events = s.events_after(0, 100).await.unwrap();
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=events.len() as i64).collect::<Vec<_>>(),
            "{label}: gap-free"
        );
        assert_eq!(events.last().unwrap().kind, EventKind::Published, "{label}");
        assert_eq!(s.last_event_seq().await.unwrap(), events.len() as i64);

        // Listing and filters.
        let listed = s
            .list_articles(&omnikb::store::ArticleFilter {
                locale: Some("zh-CN".into()),
                category_prefix: Some("宽带".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{label}");
        let none = s
            .list_articles(&omnikb::store::ArticleFilter {
                locale: Some("en".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty(), "{label}");

        // The audit chain is intact, and detects tampering.
        assert!(
            matches!(s.verify_audit().await.unwrap(), AuditVerdict::Intact { rows } if rows >= 4),
            "{label}"
        );
        s.execute_raw("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .await
            .unwrap();
        match s.verify_audit().await.unwrap() {
            AuditVerdict::Broken { seq, .. } => assert_eq!(seq, 2, "{label}"),
            other => panic!("{label}: tampering not detected: {other:?}"),
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn users_keys_sessions_and_snippets() {
    for db in db::databases().await {
        let s = &db.store;
        let label = db.label;
        let u = s
            .create_user(
                "rui",
                "Rui",
                "h",
                &Roles(vec![Role::Reviewer, Role::Agent]),
                t(1),
            )
            .await
            .unwrap();
        assert!(
            matches!(
                s.create_user("rui", "x", "h", &Roles::default(), t(1))
                    .await,
                Err(StoreError::Conflict { .. })
            ),
            "{label}"
        );
        let fetched = s.user_by_name("rui").await.unwrap().unwrap();
        assert_eq!(
            fetched.roles,
            Roles(vec![Role::Reviewer, Role::Agent]),
            "{label}"
        );

        let key = s
            .create_api_key(
                "bot",
                "abcd",
                "hash",
                omnikb::store::ApiScope::Bot,
                None,
                t(1),
            )
            .await
            .unwrap();
        assert_eq!(
            s.api_key_by_prefix("abcd").await.unwrap().unwrap().id,
            key.id,
            "{label}"
        );
        s.revoke_api_key(key.id, t(2)).await.unwrap();
        assert!(
            s.api_key_by_prefix("abcd")
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some(),
            "{label}"
        );
        assert!(
            s.revoke_api_key(key.id, t(2)).await.is_err(),
            "{label}: revoking twice is an error"
        );

        s.create_session("tok", u.id, "csrf", t(1), t(3))
            .await
            .unwrap();
        assert!(s.session("tok", t(2)).await.unwrap().is_some(), "{label}");
        assert!(
            s.session("tok", t(4)).await.unwrap().is_none(),
            "{label}: expired session"
        );

        let file = omnikb::content::SnippetFile::parse("---\nkey: hotline\nlocale: zh-CN\ntitle: 热线\nsay_as: telephone\nvariants:\n  ivr: 幺零零零零\n---\n10000\n").unwrap();
        let (sn, rev) = s
            .save_snippet(&file, Some(u.id), "rui", true, t(2))
            .await
            .unwrap();
        assert_eq!((sn.published_revision, rev.number), (Some(1), 1), "{label}");
        let (_, rev2) = s
            .save_snippet(&file, Some(u.id), "rui", false, t(3))
            .await
            .unwrap();
        assert_eq!(rev2.state, RevisionState::Draft, "{label}");
        let live = s.published_snippets("zh-CN").await.unwrap();
        assert_eq!(live.len(), 1, "{label}");
        assert_eq!(live[0].1.number, 1, "{label}: the draft does not go live");
        assert_eq!(
            live[0].1.to_file("hotline", "zh-CN").unwrap(),
            file,
            "{label}: snippet round-trips"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn listing_every_article_reads_all_pages() {
    for db in db::databases().await {
        let s = &db.store;
        let label = db.label;
        let locale: Locale = "en".parse().unwrap();
        for i in 0..5 {
            let slug: Slug = format!("article-{i}").parse().unwrap();
            let m = meta(&format!("Article {i}"));
            s.create_article(
                &slug,
                &locale,
                "faq",
                &format!("key-{i}"),
                Confidence::Wip,
                NewRevision {
                    meta: &m,
                    body: "Text.\n",
                    author: None,
                    actor: "a",
                    now: t(2),
                },
            )
            .await
            .unwrap();
        }
        let filter = omnikb::store::ArticleFilter::default();
        // Page sizes that divide the count and that do not; each article once, in id order.
        for page in [1, 2, 5, 7] {
            let all = s.list_articles_in_pages(&filter, page).await.unwrap();
            let slugs: Vec<String> = all.iter().map(|a| a.article.slug.to_string()).collect();
            assert_eq!(
                slugs,
                (0..5).map(|i| format!("article-{i}")).collect::<Vec<_>>(),
                "{label}: page size {page}"
            );
        }
        assert_eq!(
            s.list_all_articles(&filter).await.unwrap().len(),
            5,
            "{label}"
        );
        // Revisions read by key in chunks: each existing key once, missing keys left out.
        let all = s.list_all_articles(&filter).await.unwrap();
        let mut keys: Vec<(ArticleId, i32)> = all.iter().map(|a| (a.article.id, 1)).collect();
        keys.push((all[0].article.id, 2));
        keys.push((ArticleId(999_999), 1));
        for chunk in [1, 2, 3, 500] {
            let mut got: Vec<(ArticleId, i32)> = s
                .revisions_by_key_in_chunks(&keys, chunk)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.article_id, r.number))
                .collect();
            got.sort();
            let mut want = keys[..5].to_vec();
            want.sort();
            assert_eq!(got, want, "{label}: chunk {chunk}");
        }
        let one = s.revisions_by_key(&keys[..1]).await.unwrap();
        assert_eq!(one.len(), 1, "{label}");
        assert_eq!(one[0].body, "Text.\n", "{label}");
        assert!(s.revisions_by_key(&[]).await.unwrap().is_empty(), "{label}");
    }
}

#[tokio::test]
async fn search_rows_are_written_in_batches_and_counted_once() {
    for db in db::databases().await {
        let s = &db.store;
        let label = db.label;
        // More rows than one INSERT statement takes, so the batch spans several.
        let rows: Vec<_> = (0..250)
            .map(|i| {
                search_row(
                    i,
                    if i % 5 == 0 { "没有结果" } else { "宽带" },
                    i64::from(i % 5 != 0),
                )
            })
            .collect();
        assert_eq!(s.record_searches(&rows).await.unwrap(), 250, "{label}");
        // Ids already written are skipped, new ones in the same batch still land.
        let again = vec![search_row(0, "宽带", 1), search_row(1000, "宽带", 1)];
        assert_eq!(s.record_searches(&again).await.unwrap(), 1, "{label}");
        let a = s.search_analytics(t(1), 10).await.unwrap();
        assert_eq!(a.searches, 251, "{label}");
        assert_eq!(a.zero_result_searches, 50, "{label}");
        let top: Vec<(&str, i64)> = a
            .top_queries
            .iter()
            .map(|q| (q.q.as_str(), q.searches))
            .collect();
        assert_eq!(top.first(), Some(&("宽带", 201)), "{label}: {top:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn search_analytics_is_one_snapshot_while_searches_are_written() {
    for db in db::databases().await {
        analytics_agree_with_themselves_while_written(&db.store, db.label).await;
        db.cleanup().await;
    }
    // The in-memory SQLite store above has one connection; a server's store is a file in
    // WAL mode with several, where the reader and the writer really run side by side.
    let dir = tempfile::tempdir().unwrap();
    let file = omnikb::store::Store::open_sqlite(&dir.path().join("kb.sqlite"))
        .await
        .unwrap();
    file.migrate().await.unwrap();
    analytics_agree_with_themselves_while_written(&file, "sqlite file").await;
    file.close().await;
}

/// Writes batches of two searches, one that finds something and one that does not, while
/// reading the analytics: every read must see whole batches, so its totals and its
/// per-query lists agree.
async fn analytics_agree_with_themselves_while_written(store: &omnikb::store::Store, label: &str) {
    let writer = store.clone();
    let writing = tokio::spawn(async move {
        for batch in 0..150i64 {
            let rows = [
                search_row(batch * 2, "宽带", 3),
                search_row(batch * 2 + 1, "找不到", 0),
            ];
            writer.record_searches(&rows).await.unwrap();
            tokio::task::yield_now().await;
        }
    });
    let mut reads = 0;
    while !writing.is_finished() || reads == 0 {
        let a = store.search_analytics(t(1), 10).await.unwrap();
        let listed: i64 = a.top_queries.iter().map(|q| q.searches).sum();
        let gaps: i64 = a.zero_result_queries.iter().map(|q| q.searches).sum();
        assert_eq!(a.searches, listed, "{label}: {a:?}");
        assert_eq!(a.zero_result_searches, gaps, "{label}: {a:?}");
        assert_eq!(a.searches, 2 * a.zero_result_searches, "{label}: {a:?}");
        reads += 1;
    }
    writing.await.unwrap();
    let a = store.search_analytics(t(1), 10).await.unwrap();
    assert_eq!((a.searches, a.zero_result_searches), (300, 150), "{label}");
}

/// A public zh-CN search for `q` at `t(3)` that found `hits` articles.
fn search_row(id: i64, q: &str, hits: i64) -> omnikb::store::SearchRecord {
    omnikb::store::SearchRecord {
        id,
        at: t(3),
        q: q.into(),
        locale: Some("zh-CN".into()),
        channel: None,
        scope: "public",
        filters: "{}".into(),
        hits,
        latency_us: 120,
    }
}
