//! The training engine: compiled graphs, forward/backward passes, training and inference.

pub mod compile;
pub mod data;
pub mod early_stop;
pub mod fit;
pub mod graph;
pub mod infer;
pub mod mixed;
pub mod pass;
pub mod search;

pub use data::DataRef;
pub use early_stop::{EarlyStopping, Monitor};
pub use fit::{fit, EpochRecord, FitConfig, FitOutcome, OptState};
pub use graph::{Graph, Node, NodeKind, ParamInfo, Shape};
pub use infer::{evaluate, gradients, node_gradients, node_indices, node_values, predict, Evaluation};
