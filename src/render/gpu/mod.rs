//! The wgpu side: adapter choice, pipelines, the per-frame upload and draw,
//! and reading a frame back as an image.
//!
//! A frame is two steps on the GPU. The colour pass colours every shown map
//! once, a fragment per cell, into its 256 x 256 tile of the colour atlas (a
//! texture of the target's format); the wall pass then draws the maps'
//! rectangles by fetching cells from the atlas. So the scale arithmetic costs
//! 65,536 fragments per map at any screen size, and where a map is shown at
//! exactly one pixel per cell (six maps at 1920x1080) and the target allows
//! copies, its tile is copied into place instead of drawn. On a software
//! rasteriser (lavapipe) this is most of a frame's cost; see
//! docs/performance.md. What stays from frame to frame (map frames, ticks,
//! labels) is drawn once into a backdrop copied under the frames that follow,
//! where the target allows copies.
//!
//! By job: `device` opens a GPU, `uniforms` is the uniform as a struct laid
//! out like the shader's (and the constants both sides share), `resources`
//! makes the objects kept between frames, `backdrop` decides when the kept
//! backdrop serves, `frame` encodes and submits a frame, and `readback` copies an offscreen frame back to memory.

mod backdrop;
mod device;
mod frame;
mod readback;
mod resources;
mod uniforms;

pub use device::{AdapterChoice, Gpu, TIMESTAMPS};
pub use frame::WallRenderer;
