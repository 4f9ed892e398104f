//! The detector's repeat tests: the state hash's mixing and its pass-through hasher, and the
//! search for a counter or state entry that did not repeat, with the last failures tried first.

/// The state hashes are already mixed: a map keyed by them needs no second hash.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub(super) fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(17)
}

/// The last few distinct entries that failed a repeat test, the latest first (entry 0 until
/// that many have failed).
pub(super) type Hints = [usize; 4];

/// Put `j` first among the hints (moving it up if it is there, dropping the oldest if not).
pub(super) fn remember(hints: &mut Hints, j: usize) {
    if hints[0] == j {
        return;
    }
    let at = hints.iter().position(|&h| h == j).unwrap_or(hints.len() - 1);
    hints[..=at].rotate_right(1);
    hints[0] = j;
}

/// An entry `j` for which `ok(s[j], a[j], b[j])` fails, trying the `hints` first; `None` when
/// all pass. `ok` is pure, so entries are tested eight at a time without a branch each, and
/// only a failing group is searched entry by entry.
#[inline(never)]
pub(super) fn first_failing(
    s: &[f64],
    a: &[f64],
    b: &[f64],
    hints: &Hints,
    ok: impl Fn(f64, f64, f64) -> bool,
) -> Option<usize> {
    let n = s.len();
    let (a, b) = (&a[..n], &b[..n]);
    for &h in hints {
        if h < n && !ok(s[h], a[h], b[h]) {
            return Some(h);
        }
    }
    let mut at = 0;
    for ((cs, ca), cb) in s.chunks(8).zip(a.chunks(8)).zip(b.chunks(8)) {
        let mut all = true;
        for ((&x, &y), &z) in cs.iter().zip(ca).zip(cb) {
            all &= ok(x, y, z);
        }
        if !all {
            return (0..cs.len()).find(|&j| !ok(cs[j], ca[j], cb[j])).map(|j| at + j);
        }
        at += cs.len();
    }
    None
}
