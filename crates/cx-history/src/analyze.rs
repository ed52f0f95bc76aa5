//! Path analysis (seed 003 step 3) and per-node aggregates, in one pass
//! with bounded memory.
//!
//! Per step ([`step_report`]): dwell time (`endTime − startTime`, seconds);
//! variable changes — changed, added and removed keys (the seed only sees
//! changed ones); whether the node is a decision point (`DECISION`,
//! `ROUTING`, `CONDITION`); whether it is a bottleneck (a decision point
//! dwelling longer than the threshold, 15 s by default as the seed's
//! analyzer). A step that ends before it starts, or lacks a parseable
//! time, is a [`DataError`], never a negative dwell.
//!
//! Over a whole stream ([`PathAnalyzer`]): per-node count, mean, p50, p95
//! (within 1%, see [`crate::sketch`]), max dwell and error rate; the most
//! frequent paths (node ids in start order) with the Space-Saving
//! algorithm; the slowest bottlenecks. Memory is bounded by the number of
//! distinct nodes (capped by [`AnalyzerConfig::max_nodes`]), the path
//! counters ([`AnalyzerConfig::path_capacity`]) and the kept bottlenecks
//! and data errors — never by the number of interactions.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::sketch::DwellSketch;
use crate::time::Instants;
use crate::types::{Interaction, Step};

/// Settings of a [`PathAnalyzer`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AnalyzerConfig {
    /// A decision point dwelling longer than this is a bottleneck. Default
    /// 15 s (seed 003's analyzer default; its example passes 10 s).
    pub threshold: Duration,
    /// Node types that are decision points. Default `DECISION`, `ROUTING`,
    /// `CONDITION` (seed 003).
    pub decision_types: Vec<String>,
    /// Slowest bottlenecks kept in full (all are counted). Default 1000.
    pub max_bottlenecks: usize,
    /// Data errors kept in full (all are counted). Default 1000.
    pub max_data_errors: usize,
    /// Distinct paths counted (Space-Saving counters). Default 1000.
    pub path_capacity: usize,
    /// Most frequent paths reported. Default 10.
    pub top_paths: usize,
    /// Distinct nodes aggregated; further nodes are pooled under
    /// `(other)`. Default 10,000.
    pub max_nodes: usize,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            threshold: Duration::from_secs(15),
            decision_types: ["DECISION", "ROUTING", "CONDITION"]
                .map(str::to_owned)
                .to_vec(),
            max_bottlenecks: 1000,
            max_data_errors: 1000,
            path_capacity: 1000,
            top_paths: 10,
            max_nodes: 10_000,
        }
    }
}

cx_http::with_setters! { AnalyzerConfig {
    /// Set [`AnalyzerConfig::threshold`].
    with_threshold(threshold: Duration);
    /// Set [`AnalyzerConfig::decision_types`].
    with_decision_types(decision_types: impl IntoIterator<Item = impl Into<String>>) = decision_types.into_iter().map(Into::into).collect();
    /// Set [`AnalyzerConfig::max_bottlenecks`].
    with_max_bottlenecks(max_bottlenecks: usize);
    /// Set [`AnalyzerConfig::max_data_errors`].
    with_max_data_errors(max_data_errors: usize);
    /// Set [`AnalyzerConfig::path_capacity`].
    with_path_capacity(path_capacity: usize);
    /// Set [`AnalyzerConfig::top_paths`].
    with_top_paths(top_paths: usize);
    /// Set [`AnalyzerConfig::max_nodes`].
    with_max_nodes(max_nodes: usize);
}}

/// The before and after values of one changed variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariableChange {
    /// Value before the node ran.
    pub before: Value,
    /// Value after.
    pub after: Value,
}

/// How a step changed the workflow variables. JSON: `{changed: {k:
/// {before, after}}, added: {k: v}, removed: {k: v}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VariableChanges {
    /// Keys present before and after with different values.
    pub changed: BTreeMap<String, VariableChange>,
    /// Keys present only after (with their new value).
    pub added: BTreeMap<String, Value>,
    /// Keys present only before (with their old value).
    pub removed: BTreeMap<String, Value>,
}

impl VariableChanges {
    /// The changes from `before` to `after`.
    pub fn between(before: &Map<String, Value>, after: &Map<String, Value>) -> Self {
        let mut out = Self::default();
        for (k, a) in after {
            match before.get(k) {
                Some(b) if b != a => {
                    out.changed.insert(
                        k.clone(),
                        VariableChange {
                            before: b.clone(),
                            after: a.clone(),
                        },
                    );
                }
                Some(_) => {}
                None => {
                    out.added.insert(k.clone(), a.clone());
                }
            }
        }
        for (k, b) in before {
            if !after.contains_key(k) {
                out.removed.insert(k.clone(), b.clone());
            }
        }
        out
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// Seed 003's `BottleneckReport` for one step, with the data error if its
/// times are unusable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// The interaction.
    pub interaction_id: String,
    /// The node.
    pub node_id: String,
    /// The node's type.
    pub node_type: String,
    /// Dwell time in seconds; `None` when [`StepReport::data_error`] is set.
    pub dwell_seconds: Option<f64>,
    /// Changed, added and removed variables.
    pub variable_changes: VariableChanges,
    /// A decision point (DECISION, ROUTING, CONDITION by default).
    pub is_decision: bool,
    /// A decision point dwelling longer than the threshold.
    pub is_bottleneck: bool,
    /// The step's `errorState`.
    pub error_state: bool,
    /// Why the dwell time could not be computed (e.g. the step ends before
    /// it starts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_error: Option<String>,
}

/// A step whose times are unusable. JSON: `{interactionId, nodeId, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataError {
    /// The interaction.
    pub interaction_id: String,
    /// The node.
    pub node_id: String,
    /// What is wrong, e.g. `endTime is 2.000 s before startTime`.
    pub message: String,
}

/// Aggregates of one node. Dwell figures in seconds; `p50`/`p95` within
/// 1% ([`crate::sketch::RELATIVE_ERROR`]), the others exact.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStats {
    /// Node id (`(other)` pools nodes beyond [`AnalyzerConfig::max_nodes`]).
    pub node_id: String,
    /// Node type (as first seen).
    pub node_type: String,
    /// Steps with a valid dwell time.
    pub count: u64,
    /// Mean dwell.
    pub mean_seconds: f64,
    /// Median dwell (nearest rank).
    pub p50_seconds: f64,
    /// 95th percentile dwell (nearest rank).
    pub p95_seconds: f64,
    /// Longest dwell.
    pub max_seconds: f64,
    /// Of `count`, steps with `errorState: true`.
    pub errors: u64,
    /// `errors / count` (0 when `count` is 0).
    pub error_rate: f64,
    /// Steps of this node with unusable times (not in `count`).
    pub data_errors: u64,
}

/// A path through the workflow and how often it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathCount {
    /// Node ids in start order.
    pub nodes: Vec<String>,
    /// Interactions that took it (an upper bound when `maxOvercount > 0`).
    pub count: u64,
    /// How much `count` may exceed the truth (Space-Saving); 0 while there
    /// were no more distinct paths than counters.
    pub max_overcount: u64,
}

/// The result of a [`PathAnalyzer`] run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// The bottleneck threshold, seconds.
    pub threshold_seconds: f64,
    /// Interactions analysed.
    pub interactions: u64,
    /// Steps analysed (data errors included).
    pub steps_analysed: u64,
    /// Per-node aggregates, by node id.
    pub nodes: Vec<NodeStats>,
    /// The most frequent paths, most frequent first.
    pub top_paths: Vec<PathCount>,
    /// The slowest bottlenecks, slowest first (at most
    /// [`AnalyzerConfig::max_bottlenecks`]).
    pub bottlenecks: Vec<StepReport>,
    /// Every bottleneck seen.
    pub bottleneck_count: u64,
    /// The first data errors (at most [`AnalyzerConfig::max_data_errors`]).
    pub data_errors: Vec<DataError>,
    /// Every data error seen.
    pub data_error_count: u64,
}

/// What the analyzer reads of a step: an owned [`Step`], or one borrowed
/// from a page's bytes ([`crate::wire`]), which [`Client::report`] analyses
/// without building the owned form (issue 13).
///
/// [`Client::report`]: crate::Client::report
pub(crate) trait StepFields {
    /// `nodeId`.
    fn node_id(&self) -> &str;
    /// `nodeType`.
    fn node_type(&self) -> &str;
    /// `startTime`, as received.
    fn start_time(&self) -> Option<&str>;
    /// `endTime`, as received.
    fn end_time(&self) -> Option<&str>;
    /// `errorState`.
    fn error_state(&self) -> bool;
    /// How the step changed the variables (only for the reports kept).
    fn variable_changes(&self) -> VariableChanges;
}

/// `impl StepFields` for a step type whose fields are named as [`Step`]'s
/// (`node_id`, `node_type` deref to `str`; `start_time`, `end_time` are
/// options of one), with `$changes` computing the variable changes of `$s`.
macro_rules! step_fields {
    ($ty:ty, |$s:ident| $changes:expr) => {
        impl $crate::analyze::StepFields for $ty {
            fn node_id(&self) -> &str {
                &self.node_id
            }
            fn node_type(&self) -> &str {
                &self.node_type
            }
            fn start_time(&self) -> Option<&str> {
                self.start_time.as_deref()
            }
            fn end_time(&self) -> Option<&str> {
                self.end_time.as_deref()
            }
            fn error_state(&self) -> bool {
                self.error_state
            }
            fn variable_changes(&self) -> $crate::analyze::VariableChanges {
                let $s = self;
                $changes
            }
        }
    };
}
pub(crate) use step_fields;

step_fields!(Step, |s| VariableChanges::between(
    &s.variables_before,
    &s.variables_after
));

/// Parse an RFC 3339 time to Unix microseconds.
fn micros(instants: &mut Instants, raw: Option<&str>, field: &str) -> Result<i64, String> {
    let raw = raw.ok_or_else(|| format!("missing {field}"))?;
    instants
        .unix_micros(raw)
        .ok_or_else(|| format!("{field} {raw:?} is not RFC 3339 with a zone"))
}

/// Dwell of `step` in seconds, or why there is none.
fn dwell(step: &impl StepFields) -> Result<f64, String> {
    dwell_from(&mut Instants::default(), step, None)
}

/// As [`dwell`], with the start already parsed when `start` is `Some` (the
/// analyzer parses it once, to order the steps).
fn dwell_from(
    instants: &mut Instants,
    step: &impl StepFields,
    start: Option<i64>,
) -> Result<f64, String> {
    let start = match start {
        Some(start) => start,
        None => micros(instants, step.start_time(), "startTime")?,
    };
    let end = micros(instants, step.end_time(), "endTime")?;
    if end < start {
        return Err(format!(
            "endTime is {:.3} s before startTime",
            (start - end) as f64 / 1e6
        ));
    }
    Ok((end - start) as f64 / 1e6)
}

impl AnalyzerConfig {
    fn is_decision(&self, node_type: &str) -> bool {
        self.decision_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(node_type))
    }
}

/// Seed 003 step 3 for one step of interaction `interaction_id`.
pub fn step_report(interaction_id: &str, step: &Step, config: &AnalyzerConfig) -> StepReport {
    report_of(interaction_id, step, config)
}

/// [`step_report`] of any [`StepFields`].
fn report_of(interaction_id: &str, step: &impl StepFields, config: &AnalyzerConfig) -> StepReport {
    let dwell = dwell(step);
    let is_decision = config.is_decision(step.node_type());
    let dwell_seconds = dwell.as_ref().ok().copied();
    StepReport {
        interaction_id: interaction_id.to_owned(),
        node_id: step.node_id().to_owned(),
        node_type: step.node_type().to_owned(),
        dwell_seconds,
        variable_changes: step.variable_changes(),
        is_decision,
        is_bottleneck: is_decision
            && dwell_seconds.is_some_and(|d| d > config.threshold.as_secs_f64()),
        error_state: step.error_state(),
        data_error: dwell.err(),
    }
}

#[derive(Debug)]
struct NodeAcc {
    node_type: String,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    errors: u64,
    data_errors: u64,
    sketch: DwellSketch,
}

/// Reads the first byte of every step's times and node id before the steps
/// of an owned [`Interaction`] are analysed one by one (issue 13). Each of
/// these is its own heap string, usually not in cache: the parse of one
/// step's times waits for its load and feeds the next (the hour it
/// remembers), so the loads were taken one at a time, and the analyzer
/// spent about a third of its time on that one load. Here the loads do not
/// depend on each other, so the processor overlaps them and the parses
/// find the bytes in cache: the analyzer alone ran 1.2-2.5× faster
/// (bench `history`, each build pinned to one core in turn). The borrowed
/// steps of [`crate::Client::report`] lie in order in their page's body,
/// already streaming through the cache, so they skip this. `black_box`
/// keeps the compiler from dropping the unused loads; were it ignored,
/// only the speed would change.
fn load_ahead(steps: &[Step]) {
    let first = |t: &str| t.as_bytes().first().copied().unwrap_or(0);
    let bytes = steps.iter().fold(0u8, |acc, s| {
        acc ^ s.start_time.as_deref().map_or(0, first)
            ^ s.end_time.as_deref().map_or(0, first)
            ^ first(&s.node_id)
    });
    std::hint::black_box(bytes);
}

/// A bottleneck ordered by dwell (then arrival), for the top-K heap.
#[derive(Debug)]
struct Slow {
    dwell: f64,
    seq: u64,
    /// Boxed: the heap moves its entries as it reorders them.
    report: Box<StepReport>,
}

impl PartialEq for Slow {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Slow {}
impl PartialOrd for Slow {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Slow {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dwell
            .total_cmp(&other.dwell)
            .then(other.seq.cmp(&self.seq))
    }
}

/// Path positions with a node hint ([`PathAnalyzer`]'s `hints`).
const MAX_HINTS: usize = 256;

/// Separator of node ids in a path key.
const PATH_SEP: char = '\u{1f}';

/// Analyses interactions one at a time; see the module docs.
///
/// ```
/// use cx_history::{AnalyzerConfig, Interaction, PathAnalyzer};
/// let mut analyzer = PathAnalyzer::new(AnalyzerConfig::default());
/// let interaction: Interaction = serde_json::from_value(serde_json::json!({
///     "interactionId": "i1",
///     "steps": [{"nodeId": "d", "nodeType": "DECISION",
///                "startTime": "2024-05-01T10:00:00Z", "endTime": "2024-05-01T10:00:18Z"}]
/// })).unwrap();
/// analyzer.observe(&interaction);
/// let analysis = analyzer.finish();
/// assert_eq!(analysis.bottleneck_count, 1);
/// assert_eq!(analysis.nodes[0].max_seconds, 18.0);
/// ```
#[derive(Debug)]
pub struct PathAnalyzer {
    config: AnalyzerConfig,
    /// Per node id, in first-seen order; `node_index` finds one without
    /// allocating its key (the hot path: one lookup a step).
    nodes: Vec<(String, NodeAcc)>,
    node_index: HashMap<String, usize>,
    /// Per position in a path (the first [`MAX_HINTS`]), the node last
    /// seen there: interactions of one workflow mostly take the same
    /// nodes, so a string comparison usually spares the hash lookup.
    hints: Vec<usize>,
    paths: HashMap<String, (u64, u64)>,
    /// Reused per interaction: (start, step index, parsed start).
    order: Vec<(i64, usize, Option<i64>)>,
    /// Reused per interaction: the path key.
    path: String,
    /// Reads the steps' times, remembering the last one's hour.
    instants: Instants,
    bottlenecks: BinaryHeap<Reverse<Slow>>,
    bottleneck_count: u64,
    data_errors: Vec<DataError>,
    data_error_count: u64,
    interactions: u64,
    steps: u64,
}

impl PathAnalyzer {
    /// An empty analyzer.
    pub fn new(config: AnalyzerConfig) -> Self {
        Self {
            config,
            nodes: Vec::new(),
            node_index: HashMap::new(),
            hints: Vec::new(),
            paths: HashMap::new(),
            order: Vec::new(),
            path: String::new(),
            instants: Instants::default(),
            bottlenecks: BinaryHeap::new(),
            bottleneck_count: 0,
            data_errors: Vec::new(),
            data_error_count: 0,
            interactions: 0,
            steps: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// Steps analysed so far.
    pub fn steps_analysed(&self) -> u64 {
        self.steps
    }

    /// The aggregates of `step`'s node, at `position` in its path.
    fn node(&mut self, position: usize, step: &impl StepFields) -> &mut NodeAcc {
        let id = step.node_id();
        let hinted = self
            .hints
            .get(position)
            .copied()
            .filter(|&i| self.nodes.get(i).is_some_and(|(k, _)| k == id));
        let i = match hinted {
            Some(i) => i,
            None => {
                let i = self.node_slot(step);
                let known = self.hints.len();
                match self.hints.get_mut(position) {
                    Some(hint) => *hint = i,
                    None if position == known && position < MAX_HINTS => self.hints.push(i),
                    None => {}
                }
                i
            }
        };
        &mut self.nodes[i].1
    }

    /// The index of `step`'s node in `nodes`, added when new.
    fn node_slot(&mut self, step: &impl StepFields) -> usize {
        let known = self.node_index.get(step.node_id()).copied();
        match known {
            Some(i) => i,
            None => {
                let key = if self.nodes.len() < self.config.max_nodes {
                    step.node_id()
                } else {
                    "(other)"
                };
                match self.node_index.get(key) {
                    Some(&i) => i,
                    None => {
                        self.node_index.insert(key.to_owned(), self.nodes.len());
                        self.nodes.push((
                            key.to_owned(),
                            NodeAcc {
                                node_type: step.node_type().to_owned(),
                                count: 0,
                                sum: 0.0,
                                min: f64::INFINITY,
                                max: 0.0,
                                errors: 0,
                                data_errors: 0,
                                sketch: DwellSketch::default(),
                            },
                        ));
                        self.nodes.len() - 1
                    }
                }
            }
        }
    }

    /// Analyse one interaction: steps are taken in `startTime` order (steps
    /// without a parseable start last, as received).
    pub fn observe(&mut self, interaction: &Interaction) {
        load_ahead(&interaction.steps);
        self.observe_steps(&interaction.interaction_id, &interaction.steps);
    }

    /// [`PathAnalyzer::observe`] of an interaction given by its id and
    /// steps, owned or borrowed.
    pub(crate) fn observe_steps<S: StepFields>(&mut self, interaction_id: &str, steps: &[S]) {
        self.interactions += 1;
        // Each start is parsed once: to order the steps, and for the dwell.
        let mut order = std::mem::take(&mut self.order);
        let mut path = std::mem::take(&mut self.path);
        order.clear();
        path.clear();
        let instants = &mut self.instants;
        order.extend(steps.iter().enumerate().map(|(i, s)| {
            let start = s.start_time().and_then(|t| instants.unix_micros(t));
            (start.unwrap_or(i64::MAX), i, start)
        }));
        order.sort_unstable_by_key(|&(at, i, _)| (at, i));
        let threshold = self.config.threshold.as_secs_f64();
        for (n, step, start) in order
            .iter()
            .enumerate()
            .filter_map(|(n, &(_, i, start))| Some((n, steps.get(i)?, start)))
        {
            self.steps += 1;
            if n > 0 {
                path.push(PATH_SEP);
            }
            path.push_str(step.node_id());
            match dwell_from(&mut self.instants, step, start) {
                Ok(d) => {
                    let acc = self.node(n, step);
                    acc.count += 1;
                    acc.sum += d;
                    acc.min = acc.min.min(d);
                    acc.max = acc.max.max(d);
                    acc.errors += u64::from(step.error_state());
                    acc.sketch.insert(d);
                    if d > threshold && self.config.is_decision(step.node_type()) {
                        self.bottleneck_count += 1;
                        self.keep_bottleneck(d, interaction_id, step);
                    }
                }
                Err(message) => {
                    self.node(n, step).data_errors += 1;
                    self.data_error_count += 1;
                    if self.data_errors.len() < self.config.max_data_errors {
                        self.data_errors.push(DataError {
                            interaction_id: interaction_id.to_owned(),
                            node_id: step.node_id().to_owned(),
                            message,
                        });
                    }
                }
            }
        }
        if !order.is_empty() {
            self.count_path(&path);
        }
        self.order = order;
        self.path = path;
    }

    fn keep_bottleneck(&mut self, dwell: f64, interaction_id: &str, step: &impl StepFields) {
        if self.config.max_bottlenecks == 0 {
            return;
        }
        let full = self.bottlenecks.len() >= self.config.max_bottlenecks;
        if full
            && self
                .bottlenecks
                .peek()
                .is_some_and(|Reverse(s)| s.dwell >= dwell)
        {
            return;
        }
        self.bottlenecks.push(Reverse(Slow {
            dwell,
            seq: self.bottleneck_count,
            report: Box::new(report_of(interaction_id, step, &self.config)),
        }));
        if self.bottlenecks.len() > self.config.max_bottlenecks {
            self.bottlenecks.pop();
        }
    }

    /// Space-Saving: count `path`, evicting the least counted key when full.
    fn count_path(&mut self, path: &str) {
        if let Some(c) = self.paths.get_mut(path) {
            c.0 += 1;
            return;
        }
        if self.paths.len() < self.config.path_capacity.max(1) {
            self.paths.insert(path.to_owned(), (1, 0));
            return;
        }
        let min = self
            .paths
            .iter()
            .min_by_key(|(_, (count, _))| *count)
            .map(|(k, (count, _))| (k.clone(), *count));
        if let Some((key, count)) = min {
            self.paths.remove(&key);
            self.paths.insert(path.to_owned(), (count + 1, count));
        }
    }

    /// The aggregates, paths, bottlenecks and data errors seen.
    pub fn finish(mut self) -> Analysis {
        self.nodes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let nodes = self
            .nodes
            .into_iter()
            .map(|(node_id, a)| {
                let per = |x: u64| {
                    if a.count == 0 {
                        0.0
                    } else {
                        x as f64 / a.count as f64
                    }
                };
                // The sketch's answer, kept within the exact min and max
                // (which only brings it closer to the true quantile).
                let quantile = |q: f64| {
                    a.sketch
                        .quantile(q)
                        .map_or(0.0, |v| v.clamp(a.min.min(a.max), a.max))
                };
                NodeStats {
                    node_id,
                    mean_seconds: if a.count == 0 {
                        0.0
                    } else {
                        a.sum / a.count as f64
                    },
                    p50_seconds: quantile(0.5),
                    p95_seconds: quantile(0.95),
                    max_seconds: a.max,
                    error_rate: per(a.errors),
                    node_type: a.node_type,
                    count: a.count,
                    errors: a.errors,
                    data_errors: a.data_errors,
                }
            })
            .collect();
        let mut paths: Vec<PathCount> = self
            .paths
            .into_iter()
            .map(|(key, (count, over))| PathCount {
                nodes: key.split(PATH_SEP).map(str::to_owned).collect(),
                count,
                max_overcount: over,
            })
            .collect();
        paths.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.nodes.cmp(&b.nodes)));
        paths.truncate(self.config.top_paths);
        let mut slow: Vec<Slow> = self.bottlenecks.into_iter().map(|Reverse(s)| s).collect();
        slow.sort_by(|a, b| b.cmp(a));
        Analysis {
            threshold_seconds: self.config.threshold.as_secs_f64(),
            interactions: self.interactions,
            steps_analysed: self.steps,
            nodes,
            top_paths: paths,
            bottlenecks: slow.into_iter().map(|s| *s.report).collect(),
            bottleneck_count: self.bottleneck_count,
            data_errors: self.data_errors,
            data_error_count: self.data_error_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(node: &str, ty: &str, start: &str, end: &str) -> Step {
        serde_json::from_value(json!({
            "nodeId": node, "nodeType": ty, "startTime": start, "endTime": end,
        }))
        .unwrap()
    }

    #[test]
    fn step_reports_follow_the_seed_and_go_beyond_it() {
        let mut s = step(
            "d",
            "decision",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:18.5Z",
        );
        s.variables_before = json!({"a": 1, "b": 2, "gone": true})
            .as_object()
            .unwrap()
            .clone();
        s.variables_after = json!({"a": 1, "b": 3, "new": "x"})
            .as_object()
            .unwrap()
            .clone();
        let r = step_report("i", &s, &AnalyzerConfig::default());
        assert_eq!(r.dwell_seconds, Some(18.5));
        assert!(
            r.is_decision && r.is_bottleneck,
            "types match case-insensitively"
        );
        assert_eq!(r.variable_changes.changed["b"].after, json!(3));
        assert_eq!(r.variable_changes.added["new"], json!("x"));
        assert_eq!(r.variable_changes.removed["gone"], json!(true));
        assert!(!r.variable_changes.changed.contains_key("a"));

        let table = [
            (
                "2024-05-01T10:00:05Z",
                "2024-05-01T10:00:03Z",
                "endTime is 2.000 s before startTime",
            ),
            (
                "2024-05-01T10:00:05",
                "2024-05-01T10:00:06Z",
                "not RFC 3339",
            ),
        ];
        for (start, end, want) in table {
            let r = step_report(
                "i",
                &step("x", "TASK", start, end),
                &AnalyzerConfig::default(),
            );
            assert_eq!(r.dwell_seconds, None);
            assert!(r.data_error.as_deref().unwrap().contains(want), "{r:?}");
            assert!(!r.is_bottleneck);
        }
        let missing: Step = serde_json::from_value(json!({"nodeId": "m"})).unwrap();
        let r = step_report("i", &missing, &AnalyzerConfig::default());
        assert_eq!(r.data_error.as_deref(), Some("missing startTime"));
    }

    #[test]
    fn bottleneck_threshold_is_strict_and_only_for_decisions() {
        let cfg = AnalyzerConfig::default();
        let cases = [
            ("DECISION", "2024-05-01T10:00:15Z", false),
            ("DECISION", "2024-05-01T10:00:15.001Z", true),
            ("ROUTING", "2024-05-01T10:00:20Z", true),
            ("CONDITION", "2024-05-01T10:00:20Z", true),
            ("TASK", "2024-05-01T10:01:00Z", false),
        ];
        for (ty, end, want) in cases {
            let r = step_report("i", &step("n", ty, "2024-05-01T10:00:00Z", end), &cfg);
            assert_eq!(r.is_bottleneck, want, "{ty} until {end}");
        }
    }

    #[test]
    fn bounded_state_keeps_the_slowest_and_counts_everything() {
        let cfg = AnalyzerConfig {
            max_bottlenecks: 2,
            max_data_errors: 1,
            path_capacity: 2,
            ..AnalyzerConfig::default()
        };
        let mut a = PathAnalyzer::new(cfg);
        for (i, secs) in [16, 30, 20, 17].into_iter().enumerate() {
            let end = format!("2024-05-01T10:00:{secs:02}Z");
            a.observe(&Interaction {
                interaction_id: format!("i{i}"),
                steps: vec![
                    step(
                        &format!("p{i}"),
                        "TASK",
                        "2024-05-01T09:59:00Z",
                        "2024-05-01T09:59:01Z",
                    ),
                    step("d", "DECISION", "2024-05-01T10:00:00Z", &end),
                    step(
                        "bad",
                        "TASK",
                        "2024-05-01T10:01:00Z",
                        "2024-05-01T10:00:00Z",
                    ),
                ],
            });
        }
        let r = a.finish();
        assert_eq!(r.bottleneck_count, 4);
        let kept: Vec<_> = r.bottlenecks.iter().map(|b| b.dwell_seconds).collect();
        assert_eq!(kept, vec![Some(30.0), Some(20.0)]);
        assert_eq!((r.data_error_count, r.data_errors.len()), (4, 1));
        assert_eq!(r.steps_analysed, 12);
        assert_eq!(r.top_paths.len(), 2);
        assert!(
            r.top_paths.iter().any(|p| p.max_overcount > 0),
            "evictions are reported"
        );
        assert_eq!(r.top_paths[0].nodes.len(), 3, "{:?}", r.top_paths);
    }
}
