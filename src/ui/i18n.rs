//! Every UI string in zh-CN and en, in one place. Templates get the map of the page's
//! language as `t` and write `{{ t.key }}`.

use std::collections::BTreeMap;

/// The UI language: Chinese (zh-CN) or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The short name used in the `lang` cookie and `?lang=`.
    pub fn short(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("zh") {
            Some(Lang::Zh)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The first supported language of an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut langs: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Lang::parse(tag).map(|l| (q, l))
            })
            .collect();
        langs.sort_by(|a, b| b.0.total_cmp(&a.0));
        langs.first().map(|(_, l)| *l)
    }

    /// The label of a schema annotation map (`{"zh-CN": …, "en": …}`) in this language.
    pub fn pick<'a>(self, labels: &'a BTreeMap<String, String>, fallback: &'a str) -> &'a str {
        labels
            .get(self.code())
            .or_else(|| labels.get(self.short()))
            .or_else(|| labels.values().next())
            .map(String::as_str)
            .unwrap_or(fallback)
    }
}

/// (key, zh-CN, en)
const STRINGS: &[(&str, &str, &str)] = &[
    ("app_name", "全媒体知识库", "omnikb"),
    ("portal_name", "帮助中心", "Help Center"),
    ("studio", "编辑工作台", "Studio"),
    ("agent_panel", "坐席知识面板", "Agent panel"),
    ("portal", "帮助中心", "Help Center"),
    ("language", "语言", "Language"),
    ("switch_lang", "English", "中文"),
    ("login", "登录", "Log in"),
    ("logout", "退出", "Log out"),
    ("username", "用户名", "User name"),
    ("password", "密码", "Password"),
    ("login_title", "登录知识库", "Log in to omnikb"),
    (
        "login_failed",
        "用户名或密码错误，请重试。",
        "Wrong user name or password. Please try again.",
    ),
    (
        "login_limited",
        "登录失败次数过多，请 15 分钟后再试。",
        "Too many failed logins; try again in 15 minutes.",
    ),
    (
        "csrf_failed",
        "表单已过期，请刷新页面后重试。",
        "The form has expired; reload the page and try again.",
    ),
    ("signed_in_as", "当前用户", "Signed in as"),
    ("articles", "文章", "Articles"),
    ("new_article", "新建文章", "New article"),
    ("review_queue", "审核队列", "Review queue"),
    // Snippets (studio).
    ("snippets", "公共片段", "Snippets"),
    ("new_snippet", "新建片段", "New snippet"),
    (
        "snippets_help",
        "片段是多篇文章共用的内容（热线号码、资费、营业时间），修改并发布后，所有引用它的文章在各渠道同步更新。",
        "Snippets are facts many articles share (hotlines, fees, opening hours); publishing a change updates every article that uses them, in every channel.",
    ),
    ("snippet_key", "片段标识", "Key"),
    ("used_by", "引用文章数", "Used by"),
    ("snippet_value", "内容", "Value"),
    ("say_as", "语音朗读方式", "Read aloud as"),
    (
        "snippet_variants",
        "各渠道替代文本（可选）",
        "Per-channel variants (optional)",
    ),
    ("workflow", "审核流程", "Workflow"),
    (
        "snippet_live",
        "最新版本已发布。",
        "The latest revision is live.",
    ),
    ("impact_preview", "影响预览", "Impact preview"),
    (
        "impact_summary",
        "发布此版本将改变",
        "Publishing this revision changes",
    ),
    ("impact_renders", "个渠道输出", "channel renders"),
    (
        "impact_none",
        "没有已发布的文章引用此片段。",
        "No published article uses this snippet.",
    ),
    ("admin", "系统管理", "Admin"),
    ("filter", "筛选", "Filter"),
    ("all", "全部", "All"),
    ("state", "状态", "State"),
    ("type", "类型", "Type"),
    ("locale", "语言", "Locale"),
    ("category", "分类", "Category"),
    ("text_filter", "标题包含", "Title contains"),
    ("review_due", "待复审", "Review due"),
    ("expired", "已过期", "Expired"),
    ("title", "标题", "Title"),
    ("slug", "标识 (slug)", "Slug"),
    ("updated", "更新时间", "Updated"),
    ("audience", "受众", "Audience"),
    ("audience_public", "公开", "Public"),
    ("audience_internal", "仅内部", "Internal only"),
    ("tags", "标签（逗号分隔）", "Tags (comma separated)"),
    ("effective_from", "生效日期", "Effective from"),
    ("expires_at", "失效日期", "Expires at"),
    ("review_by", "复审日期", "Review by"),
    ("translation_key", "翻译组标识", "Translation key"),
    ("one_per_line", "每行一项", "one per line"),
    (
        "markdown_hint",
        "Markdown 格式；::: internal 块仅坐席可见",
        "Markdown; ::: internal blocks are for agents only",
    ),
    ("choose_type", "选择文章类型", "Choose the article type"),
    ("create", "创建草稿", "Create draft"),
    ("save_draft", "保存为新草稿", "Save as new draft"),
    ("edit", "编辑", "Edit"),
    ("cancel", "取消", "Cancel"),
    (
        "form_has_errors",
        "表单有错误，请修改标出的字段。",
        "The form has errors; fix the marked fields.",
    ),
    (
        "conflict",
        "保存冲突：有人在你编辑期间保存了新版本（最新版本 {latest}，你的基础版本 {base}）。你的修改未保存；请打开最新版本重新编辑。",
        "Conflict: someone saved a newer revision while you were editing (latest {latest}, you started from {base}). Your change was not saved; open the latest revision and edit again.",
    ),
    ("open_latest", "打开最新版本", "Open the latest revision"),
    ("preview", "各渠道预览", "Channel previews"),
    (
        "no_renderer",
        "该渠道的渲染器尚未安装，以下为简易预览。",
        "No renderer installed for this channel yet; a simple preview is shown.",
    ),
    ("warnings", "渲染警告", "Renderer warnings"),
    ("listen", "试听", "Listen"),
    (
        "spoken_script",
        "以下为来电者听到的语音脚本",
        "What the caller hears",
    ),
    ("ch_web", "网页", "Web"),
    ("ch_ivr", "语音 IVR", "IVR"),
    ("ch_agent", "坐席", "Agent"),
    ("ch_bot", "机器人", "Bot"),
    ("ch_sms", "短信", "SMS"),
    ("actions", "操作", "Actions"),
    ("act_submit", "提交审核", "Submit for review"),
    ("act_approve", "批准", "Approve"),
    ("act_reject", "驳回", "Reject"),
    ("act_publish", "发布", "Publish"),
    ("act_schedule", "定时发布", "Schedule"),
    ("act_archive", "归档", "Archive"),
    ("act_restore", "恢复", "Restore"),
    ("comment", "意见", "Comment"),
    (
        "reject_needs_comment",
        "驳回时请填写意见",
        "Say why when you reject",
    ),
    ("schedule_at", "发布时间", "Publish at"),
    ("done", "操作成功", "Done"),
    ("history", "版本历史", "History"),
    ("revision", "版本", "Revision"),
    ("author", "作者", "Author"),
    ("created", "创建时间", "Created"),
    ("transitions", "流转记录", "Transitions"),
    ("action", "动作", "Action"),
    ("actor", "操作人", "By"),
    ("compare", "比较所选版本", "Compare the selected revisions"),
    (
        "rollback",
        "以此版本新建草稿",
        "New draft from this revision",
    ),
    ("diff", "差异", "Differences"),
    ("field", "字段", "Field"),
    ("before", "修改前", "Before"),
    ("after", "修改后", "After"),
    ("body", "正文", "Body"),
    ("no_changes", "没有差异", "No differences"),
    ("translations", "翻译状态", "Translations"),
    ("published_rev", "已发布版本", "Published revision"),
    ("latest_rev", "最新版本", "Latest revision"),
    ("not_published", "未发布", "Not published"),
    ("nothing_here", "暂无内容", "Nothing here"),
    (
        "review_against",
        "与已发布版本的差异",
        "Changes against the published revision",
    ),
    (
        "first_version",
        "首个版本（尚无已发布版本）",
        "First version (nothing published yet)",
    ),
    ("users", "用户", "Users"),
    ("api_keys", "API 密钥", "API keys"),
    ("webhooks", "Webhook", "Webhooks"),
    ("deliveries", "投递记录", "Deliveries"),
    ("roles", "角色", "Roles"),
    ("search", "搜索", "Search"),
    (
        "search_placeholder",
        "输入问题，例如：宽带上不了网",
        "Type a question, e.g. internet not working",
    ),
    (
        "agent_search_label",
        "搜索知识（按 / 聚焦，↑↓ 选择，回车打开，Esc 清空）",
        "Search knowledge (/ to focus, ↑↓ to move, Enter to open, Esc to clear)",
    ),
    ("no_results", "没有找到相关内容", "No results"),
    ("clear_filters", "清除筛选", "Clear filters"),
    ("copy_script", "复制客户话术", "Copy customer script"),
    ("copied", "已复制", "Copied"),
    (
        "internal_notes",
        "内部备注（勿告知客户）",
        "Internal notes (do not read to the customer)",
    ),
    ("helpful", "有帮助", "Helpful"),
    ("not_helpful", "没帮助", "Not helpful"),
    ("flag_outdated", "标记为过时", "Flag as outdated"),
    ("feedback_comment", "补充说明（可选）", "Comment (optional)"),
    ("thanks_feedback", "感谢反馈！", "Thanks for your feedback!"),
    (
        "new_version",
        "该文章有新版本发布，点击刷新。",
        "A new version of this article is available; click to reload.",
    ),
    (
        "pick_article",
        "在左侧搜索并选择文章",
        "Search and pick an article on the left",
    ),
    ("browse", "按分类浏览", "Browse by category"),
    (
        "was_helpful",
        "这篇文章对您有帮助吗？",
        "Was this article helpful?",
    ),
    ("yes", "有帮助", "Yes"),
    ("no", "没帮助", "No"),
    ("search_results", "搜索结果", "Search results"),
    (
        "not_found",
        "页面不存在或已下线",
        "Page not found or no longer available",
    ),
    ("back_home", "返回首页", "Back to the home page"),
    ("skip_to_content", "跳到正文", "Skip to content"),
    ("summary", "摘要", "Summary"),
    ("steps", "处理步骤", "Steps"),
    ("view", "查看", "View"),
    ("error", "出错了", "Something went wrong"),
    (
        "forbidden",
        "你没有权限执行该操作",
        "You are not allowed to do that",
    ),
    ("approvals", "已批准", "Approvals"),
    // Admin pages.
    ("synonyms", "同义词", "Synonyms"),
    ("analytics", "数据分析", "Analytics"),
    ("done_user_created", "用户已创建", "user created"),
    ("done_user_updated", "用户已更新", "user updated"),
    ("done_key_revoked", "密钥已吊销", "key revoked"),
    (
        "done_webhook_deleted",
        "Webhook 已停用",
        "webhook deactivated",
    ),
    ("done_saved", "已保存", "saved"),
    (
        "done_redelivered",
        "已重新加入投递队列",
        "queued for redelivery",
    ),
    (
        "done_synonyms_saved",
        "同义词已保存并立即生效",
        "synonyms saved; they apply at once",
    ),
    ("display_name", "显示名称", "Display name"),
    ("disabled", "已停用", "Disabled"),
    ("you", "你", "you"),
    ("role_author", "作者", "Author"),
    ("role_reviewer", "审核员", "Reviewer"),
    ("role_publisher", "发布员", "Publisher"),
    ("role_agent", "坐席", "Agent"),
    ("role_admin", "管理员", "Admin"),
    ("save", "保存", "Save"),
    ("new_user", "新建用户", "New user"),
    ("create_user", "创建用户", "Create user"),
    ("user_exists", "该用户名已被使用", "That user name is taken"),
    ("key_created", "已创建 API 密钥", "API key created"),
    (
        "secret_once",
        "请立即复制并妥善保存：此密钥只显示这一次，系统不保存明文。",
        "Copy it now and keep it safe: it is shown this once only and is not stored in clear.",
    ),
    ("name", "名称", "Name"),
    ("key_prefix", "前缀", "Prefix"),
    ("scope", "权限范围", "Scope"),
    ("user", "用户", "User"),
    ("last_used", "最近使用", "Last used"),
    ("revoked", "已吊销", "Revoked"),
    ("revoke", "吊销", "Revoke"),
    ("new_key", "新建 API 密钥", "New API key"),
    ("create_key", "创建密钥", "Create key"),
    (
        "scope_bot",
        "机器人/IVR，仅公开内容",
        "chat-bots and IVR, public content",
    ),
    (
        "scope_agent",
        "坐席，可见内部内容",
        "agent desk, internal content",
    ),
    (
        "scope_editor",
        "以用户身份编辑",
        "acts as its user (authoring)",
    ),
    ("scope_admin", "以管理员身份操作", "acts as its admin user"),
    (
        "key_user_hint",
        "editor 与 admin 密钥必填",
        "required for editor and admin keys",
    ),
    ("webhook_created", "已创建 Webhook", "Webhook created"),
    ("events", "事件", "Events"),
    (
        "events_hint",
        "不选表示全部事件",
        "none ticked means all events",
    ),
    ("all_events", "全部事件", "all events"),
    ("failures", "连续失败", "Failures in a row"),
    ("active", "启用", "Active"),
    ("inactive", "已停用", "Inactive"),
    ("new_webhook", "新建 Webhook", "New webhook"),
    ("create_webhook", "创建 Webhook", "Create webhook"),
    ("webhook_secret", "签名密钥", "Signing secret"),
    (
        "secret_keep_hint",
        "留空则保留原密钥；新密钥至少 16 个字符。",
        "Leave empty to keep the current secret; a new one needs 16+ characters.",
    ),
    (
        "secret_new_hint",
        "留空或少于 16 个字符时自动生成，创建后只显示一次。",
        "Generated when empty or shorter than 16 characters; shown once after creation.",
    ),
    (
        "list_hint",
        "逗号分隔，留空表示全部",
        "comma separated; empty means all",
    ),
    (
        "delete_webhook",
        "停用此 Webhook",
        "Deactivate this webhook",
    ),
    ("event_seq", "事件序号", "Event"),
    ("attempts", "尝试次数", "Attempts"),
    ("error_col", "错误", "Error"),
    ("delivered_at", "送达时间", "Delivered"),
    ("next_attempt", "下次尝试", "next attempt"),
    ("redeliver", "重新投递", "Redeliver"),
    ("no_deliveries", "暂无投递记录", "No deliveries yet"),
    (
        "synonyms_help",
        "每行一组同义词，词之间用逗号分隔；每组至少两个词。保存后立即生效，无需重建索引。",
        "One set per line, terms separated by commas; at least two terms a set. Applies at once, no reindex.",
    ),
    ("period_days", "统计天数", "Days"),
    ("searches", "搜索次数", "Searches"),
    ("zero_result_searches", "无结果搜索", "Zero-result searches"),
    ("click_through", "点击率", "Click-through"),
    ("top_queries", "热门搜索", "Top queries"),
    (
        "zero_result_queries",
        "无结果的搜索（内容缺口）",
        "Zero-result queries (content gaps)",
    ),
    ("query", "搜索词", "Query"),
    ("clicks", "点击", "Clicks"),
    ("feedback", "用户反馈", "Feedback"),
    ("flagged_outdated", "标记过时", "Flagged outdated"),
    ("kind", "类型", "Kind"),
    ("channel", "渠道", "Channel"),
    ("overdue", "已逾期", "Overdue"),
];

/// The UI strings of one language, by key.
pub fn strings(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    STRINGS
        .iter()
        .map(|(k, zh, en)| (*k, if lang == Lang::Zh { *zh } else { *en }))
        .collect()
}

/// One UI string.
pub fn t(lang: Lang, key: &str) -> &'static str {
    STRINGS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| if lang == Lang::Zh { *zh } else { *en })
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_accept_language_works() {
        let mut keys: Vec<_> = STRINGS.iter().map(|s| s.0).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len());
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("fr;q=1, zh-CN;q=0.5"),
            Some(Lang::Zh)
        );
        assert_eq!(Lang::from_accept_language("fr"), None);
    }
}
