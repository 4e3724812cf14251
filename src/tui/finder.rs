//! The fuzzy finder (Ctrl-P): tasks, SRCU domains, actions, and once something is typed
//! the symbol and type names a job loaded; Enter jumps to a task or domain, runs an action
//! or describes a symbol or type.

use super::actions::Action;
use super::app::{App, Effect, Focus, Overlay, Pane};
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinderKind {
    Task,
    Action,
    Symbol,
    Type,
    /// An SRCU domain (Enter shows it in the SRCU pane).
    SrcuDomain,
}

impl FinderKind {
    pub fn label(self) -> &'static str {
        match self {
            FinderKind::Task => "task",
            FinderKind::Action => "action",
            FinderKind::Symbol => "symbol",
            FinderKind::Type => "type",
            FinderKind::SrcuDomain => "srcu",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FinderHit {
    pub kind: FinderKind,
    pub text: String,
    /// Task address for tasks.
    pub task: Option<u64>,
    pub action: Option<Action>,
    /// Matched character positions in `text`.
    pub positions: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Finder {
    pub input: String,
    pub hits: Vec<FinderHit>,
    pub selected: usize,
    /// How many candidates were searched.
    pub searched: usize,
}

impl App {
    /// Fuzzy-match the finder's input over tasks, actions, symbols and types.
    pub fn search(&self, f: &mut Finder) {
        const MAX: usize = 200;
        let m = SkimMatcherV2::default();
        let mut hits: Vec<(i64, FinderHit)> = Vec::new();
        let mut searched = 0;
        // A candidate's text is copied only when it matches: a keystroke considers every
        // symbol and type name (200 000 with a hundred modules).
        let mut consider = |kind, text: &str, task, action, hits: &mut Vec<(i64, FinderHit)>| {
            searched += 1;
            // The score alone here; the matched positions only for the hits kept (below).
            let score = if f.input.is_empty() {
                0
            } else {
                match m.fuzzy_match(text, &f.input) {
                    Some(x) => x,
                    None => return,
                }
            };
            hits.push((
                score,
                FinderHit {
                    kind,
                    text: text.to_string(),
                    task,
                    action,
                    positions: vec![],
                },
            ));
        };
        for &i in &self.view {
            let t = &self.tasks[i];
            consider(
                FinderKind::Task,
                &format!("{} {} {}", t.comm, t.pid, t.st),
                Some(t.addr),
                None,
                &mut hits,
            );
        }
        if let Some(Ok(r)) = &self.srcu {
            for d in &r.domains {
                consider(FinderKind::SrcuDomain, &d.name, None, None, &mut hits);
            }
        }
        for a in super::actions::ACTIONS {
            consider(FinderKind::Action, a.id, None, Some(a.action), &mut hits);
        }
        // Symbols and types only once something is typed: there are hundreds of thousands.
        if !f.input.is_empty() {
            for s in self.symbols.iter() {
                consider(FinderKind::Symbol, s, None, None, &mut hits);
            }
            for s in self.types.iter() {
                consider(FinderKind::Type, s, None, None, &mut hits);
            }
        }
        // Best score first; ties keep the order above (tasks, actions, symbols, types).
        hits.sort_by_key(|h| std::cmp::Reverse(h.0));
        hits.truncate(MAX);
        f.hits = hits
            .into_iter()
            .map(|(_, mut h)| {
                if !f.input.is_empty() {
                    h.positions = m
                        .fuzzy_indices(&h.text, &f.input)
                        .map(|(_, p)| p)
                        .unwrap_or_default();
                }
                h
            })
            .collect();
        f.searched = searched;
        f.selected = f.selected.min(f.hits.len().saturating_sub(1));
    }

    pub(crate) fn finder_enter(&mut self, f: &Finder) -> Vec<Effect> {
        let Some(hit) = f.hits.get(f.selected) else {
            return vec![];
        };
        match hit.kind {
            FinderKind::Task => {
                if let Some(a) = hit.task {
                    self.select_task(a);
                    self.show(Pane::Backtrace);
                    self.focus = Focus::Tasks;
                }
                vec![]
            }
            FinderKind::Action => hit.action.map(|a| self.handle(a)).unwrap_or_default(),
            FinderKind::SrcuDomain => self.select_srcu_domain(&hit.text.clone()),
            k => vec![Effect::Describe(k, hit.text.clone())],
        }
    }

    pub(crate) fn research(&mut self) {
        if let Some(Overlay::Finder(mut f)) = self.overlay.take() {
            self.search(&mut f);
            self.overlay = Some(Overlay::Finder(f));
        }
    }
}
