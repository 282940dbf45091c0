//! The training engine: compiled graphs, forward/backward passes, training and inference.

pub mod alternate;
pub mod compile;
mod compile_group;
pub mod data;
pub mod early_stop;
pub mod fit;
pub mod graph;
pub mod infer;
pub mod pass;
mod pass_group;

pub use alternate::{fit_alternating, ArchConfig, TwoStates};
pub use data::DataRef;
pub use early_stop::{EarlyStopping, Monitor};
pub use fit::{fit, EpochRecord, FitConfig, FitOutcome, OptState};
pub use graph::{Graph, Node, NodeKind, ParamInfo, Shape};
pub use infer::{evaluate, gradients, node_gradients, node_indices, node_values, predict, Evaluation};
