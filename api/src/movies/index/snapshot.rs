//! The catalog's filterable columns in memory, and the one operation on them: the ids of a page of matches in
//! list order, with the exact number of matches.
//!
//! Entries are kept in `(year, id)` order, so a span of years is a slice found by binary search, and every other
//! filter is a comparison of a few fixed-size fields (genres are a bit set). One pass counts the matches and keeps
//! the page's rows and those before it in a bounded heap; a deep page collects the matches and sorts them
//! partially instead. Every order here is the SQL one of `query::sorted`, the name by its rank under the database's
//! collation.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::movies::types::{Sort, SortKey};

/// One movie's filter and sort columns (56 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub id: i32,
    pub year: i32,
    pub certification: i32,
    pub votes: i32,
    /// Position of the name in the database's `ORDER BY name` (names are unique).
    pub name_rank: u32,
    pub imdb: f64,
    /// The price in cents (`NUMERIC(10, 2)`).
    pub price: i64,
    /// `created_at` in microseconds since the epoch.
    pub created: i64,
    /// Bit `n` set: the movie has the genre the snapshot numbered `n`.
    pub genres: u64,
}

/// A filter set in the index's terms: inclusive bounds, the genres and certifications already resolved to the
/// bits and ids they match (an empty set matches nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub year_min: Option<i32>,
    pub year_max: Option<i32>,
    pub imdb: Option<f64>,
    pub imdb_min: Option<f64>,
    pub imdb_max: Option<f64>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    /// Any of these genre bits.
    pub genres: Option<u64>,
    pub certifications: Option<Vec<i32>>,
}

impl Selection {
    fn matches(&self, entry: &Entry) -> bool {
        fn within<T: PartialOrd>(value: T, min: Option<T>, max: Option<T>) -> bool {
            min.is_none_or(|min| value >= min) && max.is_none_or(|max| value <= max)
        }
        within(entry.imdb, self.imdb_min, self.imdb_max)
            && self.imdb.is_none_or(|imdb| entry.imdb == imdb)
            && within(entry.price, self.price_min, self.price_max)
            && self.genres.is_none_or(|bits| entry.genres & bits != 0)
            && self.certifications.as_ref().is_none_or(|ids| ids.contains(&entry.certification))
    }
}

/// Whether the index can order a list this way: every key but the engagement counters (likes and ratings change
/// with every reaction, which the snapshot does not follow).
pub fn sortable(sort: &Sort) -> bool {
    match sort {
        Sort::Default | Sort::NoKnownKey => true,
        Sort::Keys(keys) => keys.iter().all(|(key, _)| !matches!(key, SortKey::Rating | SortKey::Likes)),
    }
}

/// `a` against `b` by one key, ascending.
fn by_key(a: &Entry, b: &Entry, key: SortKey) -> Ordering {
    match key {
        SortKey::Name => a.name_rank.cmp(&b.name_rank),
        SortKey::Year => a.year.cmp(&b.year),
        // Finite and never -0 (normalised at load), so the total order is PostgreSQL's.
        SortKey::Imdb => a.imdb.total_cmp(&b.imdb),
        SortKey::Price => a.price.cmp(&b.price),
        SortKey::Votes => a.votes.cmp(&b.votes),
        SortKey::Newest => a.created.cmp(&b.created),
        // Not sortable here (see `sortable`); ordered by id so the comparison stays total.
        SortKey::Rating | SortKey::Likes => a.id.cmp(&b.id),
    }
}

fn directed(ordering: Ordering, descending: bool) -> Ordering {
    if descending { ordering.reverse() } else { ordering }
}

/// The full order of `query::sorted`: the keys, then the id in the direction of the last key unless the name
/// (unique) is among them.
fn compare(a: &Entry, b: &Entry, sort: &Sort) -> Ordering {
    match sort {
        Sort::Default => b.name_rank.cmp(&a.name_rank),
        Sort::NoKnownKey => b.id.cmp(&a.id),
        Sort::Keys(keys) => {
            let mut ordering = Ordering::Equal;
            for (key, descending) in keys {
                ordering = directed(by_key(a, b, *key), *descending);
                if ordering.is_ne() {
                    return ordering;
                }
            }
            match keys.last() {
                Some((_, descending)) if !keys.iter().any(|(key, _)| *key == SortKey::Name) => {
                    directed(a.id.cmp(&b.id), *descending)
                }
                _ => ordering,
            }
        }
    }
}

/// The catalog at one moment, in `(year, id)` order.
#[derive(Debug, Default)]
pub struct Snapshot {
    entries: Vec<Entry>,
    /// Each genre id's bit in [`Entry::genres`].
    genre_bits: HashMap<i32, u64>,
}

impl Snapshot {
    /// Orders `entries` for the year slices.
    pub fn new(mut entries: Vec<Entry>, genre_bits: HashMap<i32, u64>) -> Self {
        entries.sort_unstable_by_key(|entry| (entry.year, entry.id));
        Self { entries, genre_bits }
    }

    /// The bits of the genres `ids` (genres created after the load have none, and no movie here has them).
    pub fn genre_bits(&self, ids: &[i32]) -> u64 {
        ids.iter().filter_map(|id| self.genre_bits.get(id)).fold(0, |bits, bit| bits | bit)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The ids of the matches at `offset..offset + limit` in `sort`'s order, and how many match in all.
    pub fn select(&self, selection: &Selection, sort: &Sort, offset: usize, limit: usize) -> (Vec<i32>, usize) {
        let start = selection.year_min.map_or(0, |min| self.entries.partition_point(|entry| entry.year < min));
        let end = selection.year_max.map_or(self.entries.len(), |max| self.entries.partition_point(|e| e.year <= max));
        let candidates = self.entries.get(start..end.max(start)).unwrap_or_default();
        let matches = candidates.iter().filter(|entry| selection.matches(entry));
        let last = offset.saturating_add(limit);
        let (page, total) =
            if last <= HEAP_PAGES_UP_TO { top(matches, sort, offset, last) } else { nth(matches, sort, offset, last) };
        (page.iter().map(|entry| entry.id).collect(), total)
    }
}

/// Pages ending at or before this position keep their rows in a bounded heap while scanning; deeper pages collect
/// every match and partially sort them.
const HEAP_PAGES_UP_TO: usize = 1024;

/// An entry ordered as the list is, for the heap.
struct Ranked<'a>(&'a Entry, &'a Sort);

impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Ranked<'_> {}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self.0, other.0, self.1)
    }
}

/// The matches at `offset..last` in order, and how many there are: one pass with a heap of `last` rows, whose top
/// is the one to drop (a broad filter over a million movies costs the scan, not a sort of its matches).
fn top<'a>(
    matches: impl Iterator<Item = &'a Entry>,
    sort: &'a Sort,
    offset: usize,
    last: usize,
) -> (Vec<&'a Entry>, usize) {
    let mut heap = BinaryHeap::with_capacity(last.saturating_add(1));
    let mut total = 0usize;
    for entry in matches {
        total = total.saturating_add(1);
        if heap.len() < last {
            heap.push(Ranked(entry, sort));
        } else if heap.peek().is_some_and(|worst| compare(entry, worst.0, sort).is_lt()) {
            heap.pop();
            heap.push(Ranked(entry, sort));
        }
    }
    let first = heap.into_sorted_vec();
    (first.iter().skip(offset).map(|ranked| ranked.0).collect(), total)
}

/// The matches at `offset..last` in order, and how many there are, for deep pages: every match collected, then
/// two selections in O(matches) (the rows before `last`, then those from `offset`), and only the page sorted. A
/// page past the end sorts nothing.
fn nth<'a>(
    matches: impl Iterator<Item = &'a Entry>,
    sort: &Sort,
    offset: usize,
    last: usize,
) -> (Vec<&'a Entry>, usize) {
    let mut matches: Vec<&Entry> = matches.collect();
    let total = matches.len();
    // Also guards both selections below: each index stays under the length it selects in.
    if offset >= total || offset >= last {
        return (Vec::new(), total);
    }
    let order = |a: &&Entry, b: &&Entry| compare(a, b, sort);
    if last < total {
        matches.select_nth_unstable_by(last, order);
        matches.truncate(last);
    }
    matches.select_nth_unstable_by(offset, order);
    let mut page = matches.split_off(offset);
    page.sort_unstable_by(order);
    (page, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::arithmetic_side_effects, reason = "small test numbers")]
    fn entry(id: i32, year: i32, imdb: f64, price: i64, genres: u64) -> Entry {
        Entry {
            id,
            year,
            certification: id % 3,
            votes: (id * 7919) % 101,
            name_rank: ((id * 31) % 2503).unsigned_abs(),
            imdb,
            price,
            created: i64::from(id % 5),
            genres,
        }
    }

    /// The reference: every entry filtered, then fully sorted.
    fn naive(entries: &[Entry], selection: &Selection, sort: &Sort, offset: usize, limit: usize) -> (Vec<i32>, usize) {
        let mut matches: Vec<&Entry> = entries
            .iter()
            .filter(|entry| {
                selection.year_min.is_none_or(|min| entry.year >= min)
                    && selection.year_max.is_none_or(|max| entry.year <= max)
                    && selection.matches(entry)
            })
            .collect();
        matches.sort_by(|a, b| compare(a, b, sort));
        (matches.iter().skip(offset).take(limit).map(|entry| entry.id).collect(), matches.len())
    }

    #[test]
    fn pages_equal_a_full_sort_of_the_matches() {
        let entries: Vec<Entry> = (1..=2500)
            .map(|id| entry(id, 1990 + id % 13, f64::from(id % 9), i64::from(id % 4) * 100, 1 << (id % 4)))
            .collect();
        let snapshot = Snapshot::new(entries.clone(), HashMap::new());
        let sorts = [
            Sort::Default,
            Sort::NoKnownKey,
            Sort::Keys(vec![(SortKey::Price, true)]),
            Sort::Keys(vec![(SortKey::Year, false), (SortKey::Imdb, true)]),
            Sort::Keys(vec![(SortKey::Votes, false), (SortKey::Name, false)]),
            Sort::Keys(vec![(SortKey::Newest, true)]),
        ];
        let selections = [
            Selection::default(),
            Selection { year_min: Some(1993), year_max: Some(1998), ..Selection::default() },
            Selection { imdb_min: Some(3.0), genres: Some(0b0110), ..Selection::default() },
            Selection { imdb: Some(4.0), price_max: Some(200), ..Selection::default() },
            Selection { certifications: Some(vec![1]), price_min: Some(100), ..Selection::default() },
            Selection { year_min: Some(2000), year_max: Some(1995), ..Selection::default() },
            Selection { genres: Some(0), ..Selection::default() },
        ];
        for sort in &sorts {
            for selection in &selections {
                for (offset, limit) in [
                    (0, 10),
                    (10, 10),
                    (5, 3),
                    (5, 0),
                    (40, 20),
                    (1020, 10),
                    (1500, 20),
                    (2000, 0),
                    (2495, 20),
                    (3000, 10),
                ] {
                    assert_eq!(
                        snapshot.select(selection, sort, offset, limit),
                        naive(&entries, selection, sort, offset, limit),
                        "{sort:?} {selection:?} {offset}+{limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn engagement_counters_are_left_to_sql() {
        assert!(sortable(&Sort::Keys(vec![(SortKey::Price, true), (SortKey::Name, false)])));
        assert!(!sortable(&Sort::Keys(vec![(SortKey::Year, false), (SortKey::Likes, true)])));
        assert!(!sortable(&Sort::Keys(vec![(SortKey::Rating, true)])));
    }
}
