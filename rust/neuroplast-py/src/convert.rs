//! The only numpy-aware file: arrays and Python values in, core types out, and back.

use neuroplast_core::engine::{EarlyStopping, EpochRecord, Evaluation, Monitor};
use neuroplast_core::kernels::loss::{SoftTargets, Targets};
use neuroplast_core::kernels::optim::Optimizer;
use neuroplast_core::lp::LpSolution;
use neuroplast_core::metrics::UnitStatistics;
use neuroplast_core::Error;
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_py;

/// A float32 matrix argument (rows × features), C-contiguous.
pub type Matrix<'py> = PyReadonlyArray2<'py, f32>;
/// Optional int64 class labels.
pub type Labels<'py> = Option<PyReadonlyArray1<'py, i64>>;
/// Optional float32 regression targets.
pub type Values<'py> = Option<Matrix<'py>>;
/// Flat float32 parameter tensors.
pub type Params<'py> = Vec<PyReadonlyArray1<'py, f32>>;
/// One optional flat mask per node.
pub type MaskArgs<'py> = Vec<Option<PyReadonlyArray1<'py, f32>>>;
/// A float64 vector argument (LP data), C-contiguous.
pub type F64Vector<'py> = PyReadonlyArray1<'py, f64>;
/// A read-only float32 vector from Python.
pub type Vector<'py> = PyReadonlyArray1<'py, f32>;
/// A float64 row-major matrix argument (LP constraints), C-contiguous.
pub type F64Matrix<'py> = PyReadonlyArray2<'py, f64>;
/// A float32 array handed back to Python.
pub type ArrayOut<'py> = Bound<'py, PyArray1<f32>>;
/// Distillation settings: `(teacher logits (n × n_classes), temperature, alpha)`.
pub type Distill<'py> = (Matrix<'py>, f32, f32);
/// Early-stopping settings: `(monitor, patience, min_delta, restore_best)`.
pub type EarlyStop = (String, u64, f64, bool);

fn shape_err(py: Python<'_>, msg: String) -> PyErr {
    to_py(py, Error::Shape(msg))
}

/// Borrows a C-contiguous 1-D array as a slice.
pub fn slice1<'a, T: numpy::Element>(py: Python<'_>, a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| shape_err(py, "expected a C-contiguous array".into()))
}

/// Borrows a C-contiguous 2-D array as `(slice, rows)`.
pub fn slice2<'a, T: numpy::Element>(
    py: Python<'_>,
    a: &'a PyReadonlyArray2<'_, T>,
) -> PyResult<(&'a [T], usize)> {
    let rows = a.shape()[0];
    let s = a.as_slice().map_err(|_| shape_err(py, "expected a C-contiguous 2-D array".into()))?;
    Ok((s, rows))
}

/// Copies a list of flat float32 arrays into owned vectors.
pub fn vecs_in(py: Python<'_>, arrays: &[PyReadonlyArray1<'_, f32>]) -> PyResult<Vec<Vec<f32>>> {
    arrays.iter().map(|a| slice1(py, a).map(<[f32]>::to_vec)).collect()
}

/// Optional per-node masks.
pub fn masks_in(
    py: Python<'_>,
    masks: &[Option<PyReadonlyArray1<'_, f32>>],
) -> PyResult<Vec<Option<Vec<f32>>>> {
    masks.iter().map(|m| m.as_ref().map(|a| slice1(py, a).map(<[f32]>::to_vec)).transpose()).collect()
}

/// An owned vector back to a numpy array (no copy).
pub fn vec_out(py: Python<'_>, v: Vec<f32>) -> ArrayOut<'_> {
    PyArray1::from_vec(py, v)
}

/// Owned vectors back to numpy arrays.
pub fn vecs_out(py: Python<'_>, v: Vec<Vec<f32>>) -> Vec<ArrayOut<'_>> {
    v.into_iter().map(|x| vec_out(py, x)).collect()
}

/// Class labels (int64, 1-D) or regression targets (float32, 2-D), whichever is given.
pub fn targets<'a>(
    py: Python<'_>,
    classes: &'a Option<PyReadonlyArray1<'_, i64>>,
    values: &'a Option<PyReadonlyArray2<'_, f32>>,
) -> PyResult<Targets<'a>> {
    match (classes, values) {
        (Some(c), None) => Ok(Targets::Classes(slice1(py, c)?)),
        (None, Some(v)) => Ok(Targets::Values(slice2(py, v)?.0)),
        _ => Err(to_py(py, Error::Data("pass exactly one of class labels or float targets".into()))),
    }
}

/// Class labels paired with teacher logits (distillation); regression targets are refused.
pub fn soft_targets<'a>(
    py: Python<'_>,
    hard: Targets<'a>,
    distill: &'a Distill<'_>,
) -> PyResult<Targets<'a>> {
    let Targets::Classes(labels) = hard else {
        let msg = "distillation (a teacher) needs a cross-entropy classifier with integer labels";
        return Err(to_py(py, Error::Config(msg.into())));
    };
    let (teacher, temperature, alpha) = (slice2(py, &distill.0)?.0, distill.1, distill.2);
    Ok(Targets::Distill(SoftTargets { labels, teacher, temperature, alpha }))
}

/// Early-stopping settings from their tuple form.
pub fn early_stopping(py: Python<'_>, es: EarlyStop) -> PyResult<EarlyStopping> {
    let monitor = Monitor::parse(&es.0).map_err(|e| to_py(py, e))?;
    Ok(EarlyStopping { monitor, patience: es.1, min_delta: es.2, restore_best: es.3 })
}

fn get<'py, T: FromPyObjectOwned<'py>>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    let py = d.py();
    let v = d
        .get_item(key)?
        .ok_or_else(|| to_py(py, Error::Config(format!("optimizer setting {key:?} is missing"))))?;
    v.extract::<T>()
        .map_err(|_| to_py(py, Error::Config(format!("optimizer setting {key:?} has the wrong type"))))
}

/// Optimizer from its dict form (`{"kind": "adam", "lr": ..., ...}`).
pub fn optimizer(d: &Bound<'_, PyDict>) -> PyResult<Optimizer> {
    let kind: String = get(d, "kind")?;
    match kind.as_str() {
        "sgd" => Ok(Optimizer::Sgd {
            lr: get(d, "lr")?,
            momentum: get(d, "momentum")?,
            nesterov: get(d, "nesterov")?,
            weight_decay: get(d, "weight_decay")?,
        }),
        "adam" | "adamw" => Ok(Optimizer::Adam {
            lr: get(d, "lr")?,
            beta1: get(d, "beta1")?,
            beta2: get(d, "beta2")?,
            eps: get(d, "eps")?,
            weight_decay: get(d, "weight_decay")?,
            decoupled: kind == "adamw",
        }),
        other => Err(to_py(d.py(), Error::Config(format!("unknown optimizer {other:?}")))),
    }
}

/// An evaluation as a dict with `loss` and, for classification, `accuracy`.
pub fn evaluation<'py>(py: Python<'py>, e: &Evaluation) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("loss", e.loss)?;
    if let Some(a) = e.accuracy {
        d.set_item("accuracy", a)?;
    }
    Ok(d)
}

/// An epoch record as a dict (`epoch`, `loss`, `accuracy`, `val_loss`, `val_accuracy`).
pub fn record<'py>(py: Python<'py>, r: &EpochRecord) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("epoch", r.epoch)?;
    d.set_item("loss", r.loss)?;
    d.set_item("accuracy", r.accuracy)?;
    d.set_item("val_loss", r.val.map(|v| v.loss))?;
    d.set_item("val_accuracy", r.val.and_then(|v| v.accuracy))?;
    Ok(d)
}

/// A float64 array handed back to Python.
pub type ArrayOut64<'py> = Bound<'py, PyArray1<f64>>;

/// Borrows a C-contiguous 2-D array as `(slice, rows, cols)`.
pub fn matrix_dims<'a, T: numpy::Element>(
    py: Python<'_>,
    a: &'a PyReadonlyArray2<'_, T>,
) -> PyResult<(&'a [T], usize, usize)> {
    let cols = a.shape()[1];
    let (s, rows) = slice2(py, a)?;
    Ok((s, rows, cols))
}

/// An owned float64 vector back to a numpy array (no copy).
pub fn vec64_out(py: Python<'_>, v: Vec<f64>) -> ArrayOut64<'_> {
    PyArray1::from_vec(py, v)
}

/// An LP solution as a dict of numpy arrays and scalars (`x`, `fun`, `status`, `nit`,
/// `slack`, `con`, `active_bounds`, `active_ub`, `method`).
pub fn lp_solution(py: Python<'_>, s: LpSolution) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("x", PyArray1::from_vec(py, s.x))?;
    d.set_item("fun", s.fun)?;
    d.set_item("status", s.status as i32)?;
    d.set_item("message", s.status.message())?;
    d.set_item("nit", s.iterations)?;
    d.set_item("slack", PyArray1::from_vec(py, s.slack))?;
    d.set_item("con", PyArray1::from_vec(py, s.con))?;
    d.set_item("active_bounds", PyArray1::from_vec(py, s.active_bounds))?;
    d.set_item("active_ub", PyArray1::from_vec(py, s.active_ub))?;
    d.set_item("method", s.method.name())?;
    Ok(d)
}

/// A float64 matrix handed back to Python.
pub type MatOut64<'py> = Bound<'py, PyArray2<f64>>;

/// An owned row-major float64 `rows × cols` matrix back to a numpy array (no copy).
pub fn mat64_out(py: Python<'_>, v: Vec<f64>, rows: usize, cols: usize) -> PyResult<MatOut64<'_>> {
    PyArray1::from_vec(py, v).reshape([rows, cols])
}

/// An int64 index array handed back to Python.
pub type IndicesOut<'py> = Bound<'py, PyArray1<i64>>;

/// Unit indices back to an int64 numpy array.
pub fn indices_out(py: Python<'_>, v: Vec<usize>) -> PyResult<IndicesOut<'_>> {
    let v = v.into_iter().map(i64::try_from).collect::<Result<Vec<_>, _>>();
    let v = v.map_err(|_| to_py(py, Error::Numerical("index does not fit in int64".into())))?;
    Ok(PyArray1::from_vec(py, v))
}

/// Per-unit statistics as a dict of float64 arrays (`mean`, `std`, `max_abs`, `mean_abs`,
/// `zero_fraction`).
pub fn unit_statistics(py: Python<'_>, s: UnitStatistics) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("mean", PyArray1::from_vec(py, s.mean))?;
    d.set_item("std", PyArray1::from_vec(py, s.std))?;
    d.set_item("max_abs", PyArray1::from_vec(py, s.max_abs))?;
    d.set_item("mean_abs", PyArray1::from_vec(py, s.mean_abs))?;
    d.set_item("zero_fraction", PyArray1::from_vec(py, s.zero_fraction))?;
    Ok(d)
}
