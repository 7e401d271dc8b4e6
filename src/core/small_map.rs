//! Ordered maps and sets kept in a sorted vector: the devices of a
//! conversation, the few own messages waiting to be rewritten, the
//! transcript.
//!
//! For a few entries, or entries that arrive in order, that is as fast as a
//! B-tree, and its code is a small fraction of one: each
//! `BTreeMap<K, V>` type brings its own copy of the tree's balancing code, a
//! few kilobytes each in the browser's WebAssembly. The transcript, which
//! grows to a hundred thousand messages, uses one too: its messages come in
//! order, so each goes at the end ([`crate::core::log`] says how it keeps
//! that so).
//!
//! Iteration is in key order, so anything written from these maps (the JSON
//! of a record, say) comes out the same as from a `BTreeMap`.
//!
//! Why this stays instead of std's maps or `litemap` (measured for issue 14
//! on the release build, serde in use, 2026-12-01): `BTreeMap`/`BTreeSet`
//! in their place add 34.5 KB raw, 12.0 KB gzip to the WebAssembly (the
//! whole download 169.3 → 181.3 KB gzip, against a 160 KB budget it
//! already exceeds). `litemap`, a maintained sorted-vector map already in
//! the dependency graph, for the maps (and `BTreeSet` for the sets) adds
//! 10.0 KB gzip (mostly serde code for each map type), and its serde
//! form writes an empty map as `[]` where Bleep stores `{}`, so it would
//! also need code of its own to keep the stored format. Worth replacing once
//! the bundle has room: the tests below compare these maps with `BTreeMap`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ordered map, for a few entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmallMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> SmallMap<K, V> {
        SmallMap {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    pub fn new() -> SmallMap<K, V> {
        SmallMap::default()
    }

    /// Where `key` is, or where it would go.
    fn find(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    /// The value of `key`, first set to `make()` if there was none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + '_ {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + '_ {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + '_ {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + '_ {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Room for `more` entries, taken at once (the vector otherwise doubles
    /// as it grows, holding both copies while it moves).
    pub fn reserve(&mut self, more: usize) {
        self.entries.reserve_exact(more);
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

/// Built by inserting the entries one by one (no sort is instantiated, which
/// would cost kilobytes of WebAssembly); a later entry wins.
impl<K: Ord, V> FromIterator<(K, V)> for SmallMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> SmallMap<K, V> {
        let mut map = SmallMap::new();
        for (key, value) in entries {
            map.insert(key, value);
        }
        map
    }
}

/// Written as a map (a JSON object), in key order, as a `BTreeMap` is.
impl<K: Serialize, V: Serialize> Serialize for SmallMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.entries.iter().map(|(k, v)| (k, v)))
    }
}

/// Read from a map that names each key once.
impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for SmallMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SmallMap<K, V>, D::Error> {
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

struct Entries<K, V>(PhantomData<(K, V)>);

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
    type Value = SmallMap<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<SmallMap<K, V>, A::Error> {
        let mut map = SmallMap::new();
        while let Some((key, value)) = entries.next_entry()? {
            if map.insert(key, value).is_some() {
                return Err(de::Error::custom("a key appears twice"));
            }
        }
        Ok(map)
    }
}

/// An ordered set, for a few entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmallSet<K> {
    map: SmallMap<K, ()>,
}

impl<K> Default for SmallSet<K> {
    fn default() -> SmallSet<K> {
        SmallSet {
            map: SmallMap::default(),
        }
    }
}

impl<K: Ord> SmallSet<K> {
    pub fn new() -> SmallSet<K> {
        SmallSet::default()
    }

    /// Adds `key`; says whether it was new.
    pub fn insert(&mut self, key: K) -> bool {
        self.map.insert(key, ()).is_none()
    }

    /// Takes `key` out; says whether it was there.
    pub fn remove(&mut self, key: &K) -> bool {
        self.map.remove(key).is_some()
    }

    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// The smallest key.
    pub fn first(&self) -> Option<&K> {
        self.map.keys().next()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &K> + '_ {
        self.map.keys()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Ord> Extend<K> for SmallSet<K> {
    fn extend<I: IntoIterator<Item = K>>(&mut self, keys: I) {
        for key in keys {
            self.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    /// One step of a random workout, applied to both a `SmallMap` and a
    /// `BTreeMap`.
    #[derive(Clone, Debug)]
    enum Step {
        Insert(u8, u32),
        Remove(u8),
        GetOrInsert(u8, u32),
        Bump(u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (any::<u8>(), any::<u32>()).prop_map(|(k, v)| Step::Insert(k % 16, v)),
            any::<u8>().prop_map(|k| Step::Remove(k % 16)),
            (any::<u8>(), any::<u32>()).prop_map(|(k, v)| Step::GetOrInsert(k % 16, v)),
            any::<u8>().prop_map(|k| Step::Bump(k % 16)),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_btree_map(steps in proptest::collection::vec(step(), 0..64)) {
            let mut small = SmallMap::new();
            let mut btree = BTreeMap::new();
            for step in steps {
                match step {
                    Step::Insert(k, v) => prop_assert_eq!(small.insert(k, v), btree.insert(k, v)),
                    Step::Remove(k) => prop_assert_eq!(small.remove(&k), btree.remove(&k)),
                    Step::GetOrInsert(k, v) => prop_assert_eq!(
                        *small.get_or_insert_with(k, || v),
                        *btree.entry(k).or_insert(v)
                    ),
                    Step::Bump(k) => {
                        if let Some(v) = small.get_mut(&k) {
                            *v = v.wrapping_add(1);
                        }
                        if let Some(v) = btree.get_mut(&k) {
                            *v = v.wrapping_add(1);
                        }
                    }
                }
                prop_assert_eq!(small.len(), btree.len());
                prop_assert!(small.iter().eq(btree.iter()));
                for k in 0..16 {
                    prop_assert_eq!(small.get(&k), btree.get(&k));
                    prop_assert_eq!(small.contains_key(&k), btree.contains_key(&k));
                }
            }
        }

        #[test]
        fn a_set_behaves_like_a_btree_set(steps in proptest::collection::vec((any::<bool>(), 0u64..16), 0..64)) {
            let mut small = SmallSet::new();
            let mut btree = BTreeSet::new();
            for (add, k) in steps {
                if add {
                    prop_assert_eq!(small.insert(k), btree.insert(k));
                } else {
                    prop_assert_eq!(small.remove(&k), btree.remove(&k));
                }
                prop_assert_eq!(small.first(), btree.first());
                prop_assert!(small.iter().eq(btree.iter()));
                prop_assert_eq!(small.is_empty(), btree.is_empty());
            }
        }
    }
}
