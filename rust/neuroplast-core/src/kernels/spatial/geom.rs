//! Validated geometry of convolution and pooling windows.

use crate::error::{Error, Result};

/// Output extent of a strided, padded, dilated window along one axis, if at least one.
fn out_extent(size: usize, kernel: usize, stride: usize, pad: usize, dilation: usize) -> Option<usize> {
    let span = dilation.checked_mul(kernel.checked_sub(1)?)?.checked_add(1)?;
    let padded = size.checked_add(pad.checked_mul(2)?)?;
    (padded >= span && stride >= 1).then(|| (padded - span) / stride + 1)
}

/// Geometry of a 2-D convolution with PyTorch semantics; weights are stored
/// `c_out × (c_in / groups) × kh × kw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeom {
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    pub pad: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
    /// Output height and width.
    pub oh: usize,
    pub ow: usize,
}

impl Conv2dGeom {
    /// Validates a convolution of a `c_in × h × w` input into `c_out` channels.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        (c_in, h, w): (usize, usize, usize),
        c_out: usize,
        (kh, kw): (usize, usize),
        stride: (usize, usize),
        pad: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Self> {
        let bad = |m: String| Err(Error::Spec(m));
        if [c_in, h, w, c_out, kh, kw, stride.0, stride.1, dilation.0, dilation.1, groups].contains(&0) {
            return bad("convolution sizes, strides, dilations and groups must be positive".into());
        }
        if !c_in.is_multiple_of(groups) || !c_out.is_multiple_of(groups) {
            return bad(format!(
                "groups={groups} must divide both the input channels ({c_in}) and the output channels ({c_out})"
            ));
        }
        let (Some(oh), Some(ow)) =
            (out_extent(h, kh, stride.0, pad.0, dilation.0), out_extent(w, kw, stride.1, pad.1, dilation.1))
        else {
            return bad(format!(
                "a {kh}x{kw} kernel (dilation {dilation:?}, padding {pad:?}) does not fit a {h}x{w} input"
            ));
        };
        // Every size the kernels compute must fit in usize (the accessors multiply unchecked).
        let product = |f: &[usize]| f.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
        let sizes = [[c_in, h, w, 1], [c_out, oh, ow, 1], [c_out, c_in / groups, kh, kw]];
        if sizes.iter().any(|f| product(f).is_none()) {
            return bad(format!("a {c_in}→{c_out}-channel {kh}x{kw} convolution is too large"));
        }
        Ok(Self { c_in, h, w, c_out, kh, kw, stride, pad, dilation, groups, oh, ow })
    }

    /// Values per input sample.
    pub fn in_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Values per output sample.
    pub fn out_len(&self) -> usize {
        self.c_out * self.oh * self.ow
    }

    /// Input channels seen by each output channel.
    pub fn group_in(&self) -> usize {
        self.c_in / self.groups
    }

    /// Number of weights.
    pub fn weight_len(&self) -> usize {
        self.c_out * self.group_in() * self.kh * self.kw
    }
}

/// Geometry of a 2-D pooling window (PyTorch semantics, floor mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    pub pad: (usize, usize),
    pub oh: usize,
    pub ow: usize,
}

impl Pool2dGeom {
    /// Validates pooling of a `c × h × w` input; padding may be at most half the window.
    pub fn new(
        (c, h, w): (usize, usize, usize),
        (kh, kw): (usize, usize),
        stride: (usize, usize),
        pad: (usize, usize),
    ) -> Result<Self> {
        if [c, h, w, kh, kw, stride.0, stride.1].contains(&0) {
            return Err(Error::Spec("pooling sizes and strides must be positive".into()));
        }
        if 2 * pad.0 > kh || 2 * pad.1 > kw {
            return Err(Error::Spec(format!(
                "pooling padding {pad:?} must be at most half the {kh}x{kw} window"
            )));
        }
        let (Some(oh), Some(ow)) =
            (out_extent(h, kh, stride.0, pad.0, 1), out_extent(w, kw, stride.1, pad.1, 1))
        else {
            return Err(Error::Spec(format!("a {kh}x{kw} pooling window does not fit a {h}x{w} input")));
        };
        Ok(Self { c, h, w, kh, kw, stride, pad, oh, ow })
    }

    /// Values per input sample.
    pub fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Values per output sample.
    pub fn out_len(&self) -> usize {
        self.c * self.oh * self.ow
    }

    /// Input index range along one axis covered by output position `o` (clipped to the input).
    pub fn window(&self, o: usize, axis: usize) -> (usize, usize) {
        let (k, s, p, n) = if axis == 0 {
            (self.kh, self.stride.0, self.pad.0, self.h)
        } else {
            (self.kw, self.stride.1, self.pad.1, self.w)
        };
        let start = (o * s).saturating_sub(p);
        let end = (o * s + k).saturating_sub(p).min(n);
        (start, end)
    }
}
