//! The training engine: compiled graphs, forward/backward passes, training and inference.

pub mod alternate;
pub mod asng;
pub mod budget;
pub mod compile;
mod compile_group;
pub mod data;
pub mod divergence;
pub mod dropout;
pub mod early_stop;
pub mod fit;
pub mod graph;
pub mod infer;
pub mod mixed;
pub mod pass;
mod pass_group;
pub mod sampled;
pub mod search;
pub mod structure;
pub mod support;

pub use alternate::{fit_alternating, ArchConfig, TwoStates};
pub use asng::{theta_bounds, update_theta, utilities, AsngSettings};
pub use data::DataRef;
pub use early_stop::{EarlyStopping, Monitor};
pub use fit::{fit, fit_masked, EpochRecord, FitConfig, FitOutcome, OptState};
pub use graph::{Graph, Node, NodeKind, ParamInfo, Shape};
pub use infer::{evaluate, gradients, node_gradients, node_indices, node_values, predict, Evaluation};
pub use sampled::{fit_sampled, sampled_gradients, structured_predict};
pub use structure::{sample, BitTarget, Structure};
pub use support::WeightMasks;
