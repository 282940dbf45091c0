//! Point groups of the square lattice and their exact actions (Maile 2023, ch. 4).
//!
//! The candidate groups of equivariance-aware search are the subgroups `C1, D1, C2, D2, C4, D4`
//! of the dihedral group `D4` of the square. With translations they are the wallpaper groups
//! `p1, pm, p2, pmm, p4, p4m` (semidirect products `T(2) ⋊ H`; the thesis writes `×`). Every
//! element is `r^k m^f`: first the mirror `m` (`f = 1`), then `k` quarter turns `r`. On an
//! array, `m` is NumPy's `fliplr` and `r` is `rot90` (counter-clockwise), so the action of an
//! element on a square grid is an exact index permutation ([`grid_permutation`]). The reflection
//! axis of `D1` is fixed to `m` so that `D1 ≤ D2 ≤ D4`.
//!
//! Elements are numbered in `D4` as `4·f + k`; every group lists its elements in increasing
//! number, identity first, and its *local index* of an element is the position in that list.
//! Group feature maps are stored channel-major, group-minor: entry `(c, g)` of a `G`-feature map
//! with `C` channels is channel `c·|G| + local(g)` of the engine's tensor.
//!
//! - [`expand`]: the kernel expansion of lifting and group-convolution layers to a standard
//!   convolution kernel, as integer gathers (thesis eqs. 2–3, Sec. 4.3.1).
//! - [`relax`]: the index maps of the equivariance relaxation morphism (eqs. 4–5).
//! - [`mixed`]: the `[G]`-mixed layer's kernel and its gradients (eqs. 11–12).

pub mod expand;
pub mod mixed;
pub mod relax;

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};

/// A subgroup of `D4` from the candidate set `{C1, D1, C2, D2, C4, D4}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PointGroup {
    C1,
    D1,
    C2,
    D2,
    C4,
    D4,
}

/// Every candidate group, smallest order first.
pub const ALL: [PointGroup; 6] =
    [PointGroup::C1, PointGroup::D1, PointGroup::C2, PointGroup::D2, PointGroup::C4, PointGroup::D4];

/// Number of elements of `D4`.
pub const D4_ORDER: usize = 8;

impl PointGroup {
    /// The group called `name` (`"C1"`, `"D1"`, `"C2"`, `"D2"`, `"C4"` or `"D4"`, any case).
    pub fn parse(name: &str) -> Result<Self> {
        ALL.into_iter().find(|g| g.name().eq_ignore_ascii_case(name)).ok_or_else(|| {
            Error::Spec(format!("unknown group {name:?}; expected one of C1, D1, C2, D2, C4, D4"))
        })
    }

    /// The group's name.
    pub fn name(self) -> &'static str {
        match self {
            PointGroup::C1 => "C1",
            PointGroup::D1 => "D1",
            PointGroup::C2 => "C2",
            PointGroup::D2 => "D2",
            PointGroup::C4 => "C4",
            PointGroup::D4 => "D4",
        }
    }

    /// The elements as `D4` numbers `4·f + k`, increasing (identity first).
    pub fn elements(self) -> &'static [usize] {
        match self {
            PointGroup::C1 => &[0],
            PointGroup::D1 => &[0, 4],
            PointGroup::C2 => &[0, 2],
            PointGroup::D2 => &[0, 2, 4, 6],
            PointGroup::C4 => &[0, 1, 2, 3],
            PointGroup::D4 => &[0, 1, 2, 3, 4, 5, 6, 7],
        }
    }

    /// Number of elements `|G|`.
    pub fn order(self) -> usize {
        self.elements().len()
    }

    /// Local index of the `D4` element `e`, if it belongs to the group.
    pub fn local(self, e: usize) -> Option<usize> {
        self.elements().iter().position(|&x| x == e)
    }

    /// Whether every element of `self` belongs to `other`.
    pub fn is_subgroup_of(self, other: PointGroup) -> bool {
        self.elements().iter().all(|&e| other.local(e).is_some())
    }

    /// The maximal proper subgroups within the candidate set: the edges of the relaxation
    /// lattice `D4→C4, D4→D2, C4→C2, D2→C2, D2→D1, C2→C1, D1→C1`.
    pub fn maximal_subgroups(self) -> &'static [PointGroup] {
        match self {
            PointGroup::C1 => &[],
            PointGroup::D1 | PointGroup::C2 => &[PointGroup::C1],
            PointGroup::D2 => &[PointGroup::C2, PointGroup::D1],
            PointGroup::C4 => &[PointGroup::C2],
            PointGroup::D4 => &[PointGroup::C4, PointGroup::D2],
        }
    }

    /// Cayley table in local indices: `table[i·|G| + j] = local(g_i · g_j)`.
    pub fn cayley(self) -> Vec<usize> {
        let els = self.elements();
        let mut out = Vec::with_capacity(els.len() * els.len());
        for &a in els {
            for &b in els {
                out.push(self.local(compose(a, b)).unwrap_or(usize::MAX));
            }
        }
        out
    }

    /// Local index of each element's inverse.
    pub fn inverses(self) -> Vec<usize> {
        self.elements().iter().map(|&e| self.local(inverse(e)).unwrap_or(usize::MAX)).collect()
    }

    /// Canonical representatives `R` of the right cosets `G·v` of `self` in `sup` (which must
    /// contain `self`): for each coset its element of smallest number, in increasing order, so
    /// the identity comes first. `|R| = |sup| / |self|`.
    pub fn coset_representatives(self, sup: PointGroup) -> Vec<usize> {
        sup.elements().iter().copied().filter(|&v| self.coset_rep(v) == v).collect()
    }

    /// The representative of the right coset `G·v` (its element of smallest number).
    pub fn coset_rep(self, v: usize) -> usize {
        self.elements().iter().map(|&h| compose(h, v)).min().unwrap_or(v)
    }
}

/// Product `a·b` of `D4` elements given by number: `(r^a m^f)(r^b m^e) = r^(a + (−1)^f b) m^(f+e)`.
pub fn compose(a: usize, b: usize) -> usize {
    let (ka, fa) = (a % 4, a / 4 % 2);
    let (kb, fb) = (b % 4, b / 4 % 2);
    let k = if fa == 0 { ka + kb } else { ka + 4 - kb };
    4 * (fa ^ fb) + k % 4
}

/// Inverse of a `D4` element: `r^k ↦ r^−k`; reflections are involutions.
pub fn inverse(e: usize) -> usize {
    let (k, f) = (e % 4, e / 4 % 2);
    if f == 1 {
        e % 8
    } else {
        (4 - k) % 4
    }
}

/// The action of `D4` element `e` on an `n × n` grid as a gather: `T_e[A][p] = A[perm[p]]`,
/// with `T_e = rot90^k ∘ fliplr^f` (NumPy's functions), so `T_{ab} = T_a ∘ T_b`.
pub fn grid_permutation(e: usize, n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n * n).collect();
    if e / 4 % 2 == 1 {
        // fliplr: A'[i, j] = A[i, n − 1 − j].
        idx = (0..n * n).map(|p| idx[p / n * n + (n - 1 - p % n)]).collect();
    }
    for _ in 0..e % 4 {
        // rot90: A'[i, j] = A[j, n − 1 − i].
        idx = (0..n * n).map(|p| idx[(p % n) * n + (n - 1 - p / n)]).collect();
    }
    idx
}
