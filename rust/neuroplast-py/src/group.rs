//! Bindings for the point groups, kernel expansion and relaxation maps (`neuroplast.groups`,
//! `neuroplast.morph.relax`, `neuroplast.morph.collapse`).

use neuroplast_core::group::expand::Expansion;
use neuroplast_core::group::{mixed, relax, PointGroup};
use neuroplast_core::Result as CoreResult;
use pyo3::prelude::*;

use crate::convert::{self, ArrayOut, IndicesOut, Params, Vector};
use crate::errors::{run, to_py};

/// `(elements as (quarter turns, mirrored), Cayley table, inverses, grid permutations,
/// maximal subgroups)` of group `name` acting on a `k × k` grid.
type Table = (Vec<(usize, bool)>, Vec<usize>, Vec<usize>, Vec<Vec<usize>>, Vec<String>);

fn group(py: Python<'_>, name: &str) -> PyResult<PointGroup> {
    PointGroup::parse(name).map_err(|e| to_py(py, e))
}

fn groups(py: Python<'_>, names: &[String]) -> PyResult<Vec<PointGroup>> {
    names.iter().map(|n| group(py, n)).collect()
}

/// The exact tables of a point group (see `neuroplast.groups.table`).
#[pyfunction]
pub fn group_table(py: Python<'_>, name: &str, k: usize) -> PyResult<Table> {
    let g = group(py, name)?;
    if k > 255 {
        return Err(to_py(
            py,
            neuroplast_core::Error::Config(format!("grid size must be at most 255, got {k}")),
        ));
    }
    let elements = g.elements().iter().map(|&e| (e % 4, e >= 4)).collect();
    let perms = g.elements().iter().map(|&e| neuroplast_core::group::grid_permutation(e, k)).collect();
    let maximal = g.maximal_subgroups().iter().map(|h| h.name().to_string()).collect();
    Ok((elements, g.cayley(), g.inverses(), perms, maximal))
}

/// Expanded `(c_out·|G|) × c_in' × k × k` kernel (flat) of a stored weight; `in_group` `None`
/// for a lifting layer.
#[pyfunction]
#[pyo3(signature = (group_name, in_group, c_out, c_in, k, weight))]
pub fn expand_kernel<'py>(
    py: Python<'py>,
    group_name: &str,
    in_group: Option<&str>,
    c_out: usize,
    c_in: usize,
    k: usize,
    weight: Vector<'py>,
) -> PyResult<ArrayOut<'py>> {
    let g = group(py, group_name)?;
    let g_in = in_group.map(|n| group(py, n)).transpose()?;
    let w = convert::slice1(py, &weight)?;
    let out = run(py, |_| {
        let e = match g_in {
            None => Expansion::lift(g, c_out, c_in, k)?,
            Some(gi) => Expansion::group(g, gi, c_out, c_in, k)?,
        };
        checked_len(w.len(), e.stored_len)?;
        let mut out = vec![0.0; e.expanded_len()];
        e.gather(w, &mut out);
        Ok(out)
    })?;
    Ok(convert::vec_out(py, out))
}

fn checked_len(got: usize, want: usize) -> CoreResult<()> {
    if got != want {
        return Err(neuroplast_core::Error::Shape(format!(
            "the stored weight has {got} values, expected {want}"
        )));
    }
    Ok(())
}

/// Old channel of every new channel when a `source`-feature map is relaxed to `target`.
#[pyfunction]
pub fn relax_channels<'py>(
    py: Python<'py>,
    source: &str,
    target: &str,
    channels: usize,
) -> PyResult<IndicesOut<'py>> {
    let (f, t) = (group(py, source)?, group(py, target)?);
    let v = run(py, |_| relax::channel_sources(f, t, channels))?;
    convert::indices_out(py, v)
}

/// Old stored index of every new stored weight entry of a relaxed layer.
#[pyfunction]
#[pyo3(signature = (in_group, source, target, c_out, c_in, k))]
pub fn relax_layer<'py>(
    py: Python<'py>,
    in_group: Option<&str>,
    source: &str,
    target: &str,
    c_out: usize,
    c_in: usize,
    k: usize,
) -> PyResult<IndicesOut<'py>> {
    let g_in = in_group.map(|n| group(py, n)).transpose()?;
    let (f, t) = (group(py, source)?, group(py, target)?);
    let v = run(py, |_| relax::layer_sources(g_in, f, t, c_out, c_in, k))?;
    convert::indices_out(py, v)
}

/// Old stored index of every new stored weight entry of the layer after a relaxed one.
#[pyfunction]
pub fn relax_consumer<'py>(
    py: Python<'py>,
    group_name: &str,
    source: &str,
    target: &str,
    c_out: usize,
    c_in: usize,
    k: usize,
) -> PyResult<IndicesOut<'py>> {
    let (g, f, t) = (group(py, group_name)?, group(py, source)?, group(py, target)?);
    let v = run(py, |_| relax::consumer_sources(g, f, t, c_out, c_in, k))?;
    convert::indices_out(py, v)
}

/// The collapsed kernel of a `[G]`-mixed layer (eq. 12) and its architecture weights `z`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn mixed_kernel<'py>(
    py: Python<'py>,
    candidates: Vec<String>,
    lift: bool,
    width: usize,
    c_in: usize,
    k: usize,
    logits: Vector<'py>,
    vs: Params<'py>,
    gs: Params<'py>,
) -> PyResult<(ArrayOut<'py>, ArrayOut<'py>)> {
    let gr = groups(py, &candidates)?;
    let l = convert::slice1(py, &logits)?;
    let v = vs.iter().map(|a| convert::slice1(py, a)).collect::<PyResult<Vec<_>>>()?;
    let g = gs.iter().map(|a| convert::slice1(py, a)).collect::<PyResult<Vec<_>>>()?;
    let (kernel, z) =
        run(py, |_| mixed::collapse(&mixed::candidates(&gr, lift, width, c_in, k)?, l, &v, &g))?;
    Ok((convert::vec_out(py, kernel), convert::vec_out(py, z)))
}
