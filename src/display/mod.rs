//! The display side of the model: what the wall and `snapshot` draw from a
//! running [`crate::session::Session`]. The model (sources, parsing,
//! counting, the session) knows nothing of pixels; the renderer knows nothing
//! of sources. This is the adapter between them, as Alacritty keeps its
//! terminal model free of windowing and puts the adapter in its display code:
//! per-frame scale numbers and tiles ([`scales`]), the status line's words
//! ([`status`]), the hover readout's words ([`hover`]), the local network's name for
//! axes and hover ([`labels`]), scan events as
//! outlines and list lines ([`events`]) and the window's frame feed ([`feed`]).

pub mod events;
pub mod feed;
pub mod hover;
pub mod labels;
pub mod scales;
pub mod status;
