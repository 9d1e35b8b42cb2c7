//! What an analysis changes in an SBOM's findings: the rules that decide which matches are
//! new, which come back after being resolved, which stay open (with their evidence refreshed
//! when it changed) and which are resolved. Pure: the store loads the previous findings,
//! calls [`diff_findings`] and persists the [`FindingDiff`].
//!
//! An SBOM holds one finding per [`FindingKey`] (component × alias group); a finding keeps its
//! id for life, so a vulnerability that disappears and comes back is the same finding,
//! reopened.

use std::collections::{HashMap, HashSet};

/// Which component and vulnerability (alias group) a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    pub component_id: i64,
    pub group_id: i64,
}

/// A finding stored before this analysis, open or resolved. `E` is its evidence (why it
/// matched), compared with a match's to tell whether it must be rewritten.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousFinding<E> {
    pub id: i64,
    pub key: FindingKey,
    pub resolved: bool,
    pub evidence: E,
}

/// A match this analysis made.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentMatch<E> {
    pub key: FindingKey,
    pub evidence: E,
}

/// The changes one analysis makes. Every key matched appears exactly once in `new`,
/// `reopened`, `refreshed` or `unchanged`; every open finding not matched is in `resolved`.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingDiff<'a, E> {
    /// Matched for the first time: a finding to create, marked new.
    pub new: Vec<&'a CurrentMatch<E>>,
    /// Resolved before and matched again: the finding (by id) opens again with the match's
    /// evidence and counts as new.
    pub reopened: Vec<(i64, &'a CurrentMatch<E>)>,
    /// Open and still matched, but for another reason: the finding (by id) takes the
    /// match's evidence and is not new.
    pub refreshed: Vec<(i64, &'a CurrentMatch<E>)>,
    /// Open and still matched with the same evidence: nothing to rewrite (ids).
    pub unchanged: Vec<i64>,
    /// Open and no longer matched: to resolve (ids, in the previous findings' order).
    pub resolved: Vec<i64>,
}

impl<E> FindingDiff<'_, E> {
    /// Findings this analysis reports as new: created or reopened.
    pub fn new_count(&self) -> usize {
        self.new.len() + self.reopened.len()
    }
}

/// Compares an SBOM's previous findings with this analysis's matches. When several matches
/// share a key the first one counts (matches arrive best first).
pub fn diff_findings<'a, E: PartialEq>(
    previous: &'a [PreviousFinding<E>],
    current: &'a [CurrentMatch<E>],
) -> FindingDiff<'a, E> {
    let mut differ = FindingDiffer::new(previous);
    let mut diff = differ.diff(previous, current);
    diff.resolved = differ.resolved(previous);
    diff
}

/// [`diff_findings`] for matches that arrive in parts (an analysis stores each part while it
/// matches the next): each part's diff, then what was resolved once every part is in. The
/// parts' `new`, `reopened`, `refreshed` and `unchanged`, concatenated, and
/// [`FindingDiffer::resolved`] are exactly what [`diff_findings`] gives for all the matches
/// at once. Every call is given the same previous findings.
#[derive(Debug, Clone, Default)]
pub struct FindingDiffer {
    /// Previous findings by key (their positions).
    by_key: HashMap<FindingKey, usize>,
    /// Keys matched so far: a later match of one counts for nothing.
    matched: HashSet<FindingKey>,
}

impl FindingDiffer {
    pub fn new<E>(previous: &[PreviousFinding<E>]) -> FindingDiffer {
        FindingDiffer {
            by_key: previous
                .iter()
                .enumerate()
                .map(|(position, finding)| (finding.key, position))
                .collect(),
            matched: HashSet::new(),
        }
    }

    /// The next part's diff (its `resolved` is empty: see [`FindingDiffer::resolved`]).
    pub fn diff<'a, E: PartialEq>(
        &mut self,
        previous: &[PreviousFinding<E>],
        current: &'a [CurrentMatch<E>],
    ) -> FindingDiff<'a, E> {
        let mut diff = FindingDiff {
            new: Vec::new(),
            reopened: Vec::new(),
            refreshed: Vec::new(),
            unchanged: Vec::new(),
            resolved: Vec::new(),
        };
        self.matched.reserve(current.len());
        for found in current {
            if !self.matched.insert(found.key) {
                continue;
            }
            match self
                .by_key
                .get(&found.key)
                .map(|&position| &previous[position])
            {
                None => diff.new.push(found),
                Some(before) if before.resolved => diff.reopened.push((before.id, found)),
                Some(before) if before.evidence != found.evidence => {
                    diff.refreshed.push((before.id, found))
                }
                Some(before) => diff.unchanged.push(before.id),
            }
        }
        diff
    }

    /// Open previous findings that no part matched (ids, in the previous findings' order).
    pub fn resolved<E>(&self, previous: &[PreviousFinding<E>]) -> Vec<i64> {
        previous
            .iter()
            .filter(|before| !before.resolved && !self.matched.contains(&before.key))
            .map(|before| before.id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn key(component_id: i64, group_id: i64) -> FindingKey {
        FindingKey {
            component_id,
            group_id,
        }
    }

    fn previous(id: i64, k: FindingKey, resolved: bool, evidence: &str) -> PreviousFinding<String> {
        PreviousFinding {
            id,
            key: k,
            resolved,
            evidence: evidence.to_string(),
        }
    }

    fn found(k: FindingKey, evidence: &str) -> CurrentMatch<String> {
        CurrentMatch {
            key: k,
            evidence: evidence.to_string(),
        }
    }

    #[test]
    fn first_analysis_makes_every_match_new() {
        let current = [found(key(1, 10), "purl"), found(key(2, 10), "purl")];
        let diff = diff_findings(&[], &current);
        assert_eq!(diff.new, vec![&current[0], &current[1]]);
        assert_eq!(diff.new_count(), 2);
        assert!(diff.reopened.is_empty() && diff.refreshed.is_empty());
        assert!(diff.unchanged.is_empty() && diff.resolved.is_empty());
    }

    #[test]
    fn sorts_each_previous_finding_by_what_happened_to_it() {
        let before = [
            previous(1, key(1, 10), false, "purl"), // same evidence
            previous(2, key(1, 11), false, "purl"), // other evidence
            previous(3, key(2, 10), true, "purl"),  // was resolved
            previous(4, key(3, 10), false, "purl"), // gone
            previous(5, key(4, 10), true, "purl"),  // resolved and still gone
        ];
        let current = [
            found(key(1, 10), "purl"),
            found(key(1, 11), "cpe"),
            found(key(2, 10), "purl"),
            found(key(9, 10), "purl"),
        ];
        let diff = diff_findings(&before, &current);
        assert_eq!(diff.unchanged, vec![1]);
        assert_eq!(diff.refreshed, vec![(2, &current[1])]);
        assert_eq!(diff.reopened, vec![(3, &current[2])]);
        assert_eq!(diff.resolved, vec![4]);
        assert_eq!(diff.new, vec![&current[3]]);
        assert_eq!(diff.new_count(), 2);
    }

    #[test]
    fn the_first_match_of_a_key_wins() {
        let before = [previous(1, key(1, 10), false, "purl")];
        let current = [found(key(1, 10), "cpe"), found(key(1, 10), "purl")];
        let diff = diff_findings(&before, &current);
        assert_eq!(diff.refreshed, vec![(1, &current[0])]);
        assert!(diff.unchanged.is_empty());
        let fresh = diff_findings(&[], &current);
        assert_eq!(fresh.new, vec![&current[0]]);
    }

    #[test]
    fn resolved_keeps_the_previous_order() {
        let before = [
            previous(7, key(5, 1), false, "a"),
            previous(3, key(1, 1), false, "a"),
            previous(5, key(3, 1), false, "a"),
        ];
        assert_eq!(diff_findings(&before, &[]).resolved, vec![7, 3, 5]);
    }

    /// Previous findings with unique keys (the store's UNIQUE constraint) and matches that
    /// may repeat keys, over a small key space so that keys meet often.
    fn history() -> impl Strategy<Value = (Vec<PreviousFinding<u8>>, Vec<CurrentMatch<u8>>)> {
        let previous =
            prop::collection::btree_map((0i64..6, 0i64..4), (any::<bool>(), 0u8..3), 0..16)
                .prop_map(|rows| {
                    rows.into_iter()
                        .enumerate()
                        .map(
                            |(index, ((component_id, group_id), (resolved, evidence)))| {
                                PreviousFinding {
                                    id: 100 + index as i64,
                                    key: key(component_id, group_id),
                                    resolved,
                                    evidence,
                                }
                            },
                        )
                        .collect::<Vec<_>>()
                });
        let current = prop::collection::vec(((0i64..6, 0i64..4), 0u8..3), 0..24).prop_map(|rows| {
            rows.into_iter()
                .map(|((component_id, group_id), evidence)| CurrentMatch {
                    key: key(component_id, group_id),
                    evidence,
                })
                .collect::<Vec<_>>()
        });
        (previous, current)
    }

    /// The stored findings after the store applies `diff` (new ones get fresh ids).
    fn apply(
        previous: &[PreviousFinding<u8>],
        diff: &FindingDiff<'_, u8>,
    ) -> Vec<PreviousFinding<u8>> {
        let mut after: Vec<PreviousFinding<u8>> = previous.to_vec();
        for finding in &mut after {
            if let Some((_, found)) = diff
                .reopened
                .iter()
                .chain(&diff.refreshed)
                .find(|(id, _)| *id == finding.id)
            {
                finding.resolved = false;
                finding.evidence = found.evidence;
            }
            if diff.resolved.contains(&finding.id) {
                finding.resolved = true;
            }
        }
        let next_id = after.iter().map(|f| f.id).max().unwrap_or(0) + 1;
        for (offset, found) in diff.new.iter().enumerate() {
            after.push(PreviousFinding {
                id: next_id + offset as i64,
                key: found.key,
                resolved: false,
                evidence: found.evidence,
            });
        }
        after
    }

    proptest! {
        #[test]
        fn matches_in_parts_diff_as_all_at_once((before, current) in history(), cuts in prop::collection::vec(0usize..25, 0..4)) {
            let whole = diff_findings(&before, &current);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(current.len())).collect();
            cuts.push(0);
            cuts.push(current.len());
            cuts.sort_unstable();
            let mut differ = FindingDiffer::new(&before);
            let mut parts = FindingDiff {
                new: Vec::new(),
                reopened: Vec::new(),
                refreshed: Vec::new(),
                unchanged: Vec::new(),
                resolved: Vec::new(),
            };
            for window in cuts.windows(2) {
                let part = differ.diff(&before, &current[window[0]..window[1]]);
                prop_assert!(part.resolved.is_empty());
                parts.new.extend(part.new);
                parts.reopened.extend(part.reopened);
                parts.refreshed.extend(part.refreshed);
                parts.unchanged.extend(part.unchanged);
            }
            parts.resolved = differ.resolved(&before);
            prop_assert_eq!(parts, whole);
        }
    }

    proptest! {
        #[test]
        fn every_key_lands_in_exactly_one_outcome((before, current) in history()) {
            let diff = diff_findings(&before, &current);
            let matched: BTreeSet<FindingKey> = current.iter().map(|m| m.key).collect();
            let id_key: HashMap<i64, FindingKey> = before.iter().map(|f| (f.id, f.key)).collect();
            let mut seen: Vec<FindingKey> = diff.new.iter().map(|m| m.key).collect();
            seen.extend(diff.reopened.iter().chain(&diff.refreshed).map(|(id, m)| {
                assert_eq!(id_key[id], m.key);
                m.key
            }));
            seen.extend(diff.unchanged.iter().map(|id| id_key[id]));
            let distinct: BTreeSet<FindingKey> = seen.iter().copied().collect();
            prop_assert_eq!(distinct.len(), seen.len());
            prop_assert_eq!(distinct, matched.clone());
            let open_unmatched: Vec<i64> = before
                .iter()
                .filter(|f| !f.resolved && !matched.contains(&f.key))
                .map(|f| f.id)
                .collect();
            prop_assert_eq!(&diff.resolved, &open_unmatched);
        }

        #[test]
        fn only_keys_never_stored_are_created((before, current) in history()) {
            let diff = diff_findings(&before, &current);
            let stored: BTreeSet<FindingKey> = before.iter().map(|f| f.key).collect();
            prop_assert!(diff.new.iter().all(|m| !stored.contains(&m.key)));
            let was_resolved: BTreeSet<i64> =
                before.iter().filter(|f| f.resolved).map(|f| f.id).collect();
            prop_assert!(diff.reopened.iter().all(|(id, _)| was_resolved.contains(id)));
            let rewritten_elsewhere = diff
                .refreshed
                .iter()
                .chain(&diff.reopened)
                .any(|(id, _)| diff.unchanged.contains(id) || diff.resolved.contains(id));
            prop_assert!(!rewritten_elsewhere);
        }

        #[test]
        fn applying_the_diff_opens_exactly_the_matches_and_a_second_run_changes_nothing((before, current) in history()) {
            let first = diff_findings(&before, &current);
            let after = apply(&before, &first);
            let matched: BTreeSet<FindingKey> = current.iter().map(|m| m.key).collect();
            let open: BTreeSet<FindingKey> =
                after.iter().filter(|f| !f.resolved).map(|f| f.key).collect();
            prop_assert_eq!(&open, &matched, "exactly the matched keys are open afterwards");
            let second = diff_findings(&after, &current);
            prop_assert!(second.new.is_empty());
            prop_assert!(second.reopened.is_empty());
            prop_assert!(second.refreshed.is_empty());
            prop_assert!(second.resolved.is_empty());
            prop_assert_eq!(second.unchanged.len(), matched.len());
        }
    }
}
