//! Query-time synonyms: sets of equivalent terms per locale. Changing them needs no reindex.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use crate::domain::Locale;

use super::analysis::{self, normalize_str};

#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    /// Locale (as written, e.g. `zh-CN`) -> sets of normalised terms.
    sets: HashMap<String, Vec<SynonymSet>>,
    /// Per locale, one automaton over every set's terms, so a query is scanned once instead
    /// of once per term. Built on first use after a change, so loading many sets stays linear.
    finders: HashMap<String, OnceLock<Option<Finder>>>,
}

/// An automaton over a locale's terms and, per pattern, the index of its set.
#[derive(Debug, Clone)]
struct Finder {
    automaton: AhoCorasick,
    owners: Vec<usize>,
}

impl Finder {
    /// `None` when the automaton cannot be built (patterns too large): the locale then has
    /// no synonyms rather than failing the whole search.
    fn build(locale: &str, sets: &[SynonymSet]) -> Option<Self> {
        let (patterns, owners): (Vec<&str>, Vec<usize>) = sets
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.terms.iter().map(move |t| (t.as_str(), i)))
            .unzip();
        match AhoCorasick::new(&patterns) {
            Ok(automaton) => Some(Self { automaton, owners }),
            Err(e) => {
                tracing::warn!(%locale, error = %e, "synonyms: cannot index terms");
                None
            }
        }
    }
}

/// One set of equivalent terms, each already analysed (as the index analyses text) into the
/// term sequence a query uses, so queries do not re-run the analyzer on every set.
#[derive(Debug, Clone)]
pub struct SynonymSet {
    terms: Vec<String>,
    chains: Vec<Vec<(usize, String)>>,
}

impl SynonymSet {
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Per term: (position, token) sequence, empty when the term has no searchable token.
    pub fn chains(&self) -> &[Vec<(usize, String)>] {
        &self.chains
    }
}

impl Synonyms {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a set of equivalent terms (single words or short phrases) for a locale.
    pub fn add_set(&mut self, locale: &Locale, terms: Vec<String>) {
        let mut set: Vec<String> = terms
            .iter()
            .map(|t| normalize_str(t.trim()))
            .filter(|t| !t.is_empty())
            .collect();
        set.sort();
        set.dedup();
        if set.len() > 1 {
            let mut analyzer = analysis::omni_analyzer();
            let chains = set
                .iter()
                .map(|t| analysis::chain(&analysis::run(&mut analyzer, t)))
                .collect();
            self.sets
                .entry(locale.as_str().to_string())
                .or_default()
                .push(SynonymSet { terms: set, chains });
            self.finders
                .insert(locale.as_str().to_string(), OnceLock::new());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The sets with a term occurring in the (normalised) query, for one locale or all.
    pub(crate) fn matching(&self, norm_query: &str, locale: Option<&Locale>) -> Vec<&SynonymSet> {
        let mut out: Vec<&SynonymSet> = Vec::new();
        for (loc, sets) in &self.sets {
            if locale.is_some_and(|l| l.as_str() != loc) {
                continue;
            }
            let finder = self
                .finders
                .get(loc)
                .and_then(|f| f.get_or_init(|| Finder::build(loc, sets)).as_ref());
            let Some(finder) = finder else {
                continue;
            };
            let mut hit = vec![false; sets.len()];
            for m in finder.automaton.find_overlapping_iter(norm_query) {
                if on_word_boundaries(norm_query, m.start(), m.end()) {
                    hit[finder.owners[m.pattern().as_usize()]] = true;
                }
            }
            out.extend(sets.iter().zip(hit).filter(|(_, h)| *h).map(|(s, _)| s));
        }
        out
    }

    /// A telecom/bank set for zh-CN and en. Only true equivalents: a wrong synonym costs
    /// more ranking than a missing one.
    pub fn demo() -> Self {
        let mut s = Self::new();
        for (locale, terms) in Self::demo_sets() {
            s.add_set(&locale, terms);
        }
        s
    }

    /// The demo sets as (locale, terms), for storing them in the database.
    pub fn demo_sets() -> Vec<(Locale, Vec<String>)> {
        let zh = Locale::zh_cn();
        let en = Locale::en();
        let zh_sets: &[&[&str]] = &[
            &["宽带", "宽频", "上网", "网络"],
            &["套餐", "资费包", "资费套餐"],
            &["话费", "电话费"],
            &["流量", "数据流量", "上网流量"],
            &["sim", "sim卡", "手机卡", "电话卡"],
            &["挂失", "丢失", "丢了", "掉了"],
            &["转账", "汇款", "转钱", "打钱", "打款"],
            &["wifi", "wi-fi", "无线网", "无线网络", "wlan"],
            &["光猫", "调制解调器"],
            &["停机", "停了", "打不出去"],
            &["欠费", "欠钱", "没交钱"],
            &["营业厅", "网点", "门店"],
            &["网速慢", "网速很慢"],
            &["补卡", "补办", "换卡"],
            &["漫游", "出国", "境外"],
            &["密码", "口令"],
            &["iptv", "电视", "机顶盒"],
            &["携号转网", "转网", "换运营商"],
            &["诈骗", "骗子", "被骗"],
            &["信用卡", "贷记卡"],
        ];
        let en_sets: &[&[&str]] = &[
            &["broadband", "internet", "home internet", "fiber"],
            &["plan", "package", "tariff"],
            &["data", "mobile data", "data allowance"],
            &["sim", "sim card"],
            &["lost", "stolen"],
            &["transfer", "wire", "send money", "remittance"],
            &["wifi", "wi-fi", "wireless"],
            &["modem", "router", "gateway"],
            &["suspended", "cut off", "disconnected", "blocked"],
            &["store", "branch", "shop", "outlet"],
            &["password", "passcode"],
            &["bill", "invoice", "statement"],
            &["roaming", "abroad", "overseas"],
            &["porting", "switch provider", "keep my number"],
            &["scam", "fraud"],
            &["tv", "iptv", "television"],
            &["fee", "charge"],
        ];
        let mut out = Vec::new();
        for set in zh_sets {
            out.push((zh.clone(), set.iter().map(|t| t.to_string()).collect()));
        }
        for set in en_sets {
            out.push((en.clone(), set.iter().map(|t| t.to_string()).collect()));
        }
        out
    }
}

/// Whether `hay[start..end]` is not cut out of a longer ASCII word (a term matches as a
/// substring, but an ASCII one only on word boundaries: `sim` is not in `simple`).
fn on_word_boundaries(hay: &str, start: usize, end: usize) -> bool {
    let ascii_edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let term = &hay[start..end];
    let ok_before = !(ascii_edge(term.chars().next()) && ascii_edge(hay[..start].chars().last()));
    let ok_after = !(ascii_edge(term.chars().last()) && ascii_edge(hay[end..].chars().next()));
    ok_before && ok_after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(set: &[&str], query: &str) -> bool {
        let mut s = Synonyms::new();
        s.add_set(
            &Locale::zh_cn(),
            set.iter().map(|t| t.to_string()).collect(),
        );
        !s.matching(query, None).is_empty()
    }

    #[test]
    fn boundaries() {
        assert!(matches(&["sim", "sim card"], "my sim card"));
        assert!(!matches(&["sim", "手机卡"], "simple"));
        assert!(matches(&["丢了", "挂失"], "手机卡丢了"));
        assert!(matches(&["sim", "手机卡"], "sim卡"));
        // Every set whose term occurs, in the order they were added.
        let mut s = Synonyms::new();
        s.add_set(&Locale::en(), vec!["modem".into(), "router".into()]);
        s.add_set(&Locale::en(), vec!["wifi".into(), "wireless".into()]);
        s.add_set(&Locale::en(), vec!["lost".into(), "stolen".into()]);
        let found: Vec<&str> = s
            .matching("router stolen wifi", Some(&Locale::en()))
            .iter()
            .map(|set| set.terms()[0].as_str())
            .collect();
        assert_eq!(found, ["modem", "wifi", "lost"]);
        assert!(s.matching("router", Some(&Locale::zh_cn())).is_empty());
    }
}
