//! GPU rendering of the wall: colour-mapping and tiling of the maps, their
//! decorations, legend and status line, on screen or offscreen.
//!
//! The renderer knows nothing of packets or windows. The counting side fills
//! a [`FrameInput`]; [`WallRenderer`] draws it into any texture, which is a
//! window's surface (see `ui`) or an offscreen image ([`render_offscreen`],
//! used by `scanwall snapshot` and the tests). Both go through the same
//! shader, `shaders/wall.wgsl`, so a snapshot is exactly what the wall shows.
//!
//! Layout: [`layout`] is pure arithmetic, [`colour`] is the scale as data,
//! `scene` turns a frame into instances and text, `gpu` owns wgpu objects.

pub mod colour;
mod gpu;
mod image;
pub mod layout;
mod marks;
pub mod scale;
mod scene;
pub(crate) use scene::{format_rate, group_thousands};
mod text;

pub use colour::ColourMap;
pub use gpu::{AdapterChoice, Gpu, TIMESTAMPS, WallRenderer};
pub use image::RgbaImage;
pub use layout::{Arrangement, LayoutKind, Rect, TextScale, TileSlot, WallGrid};
pub use marks::{EventMark, EventOverlay};
pub use scale::{CellOrder, MapScale, MapView, ScaleMode};

use crate::maps::{Key, MapDef};

/// One shown map for one frame.
#[derive(Clone, Copy, Debug)]
pub struct TileInput<'a> {
    /// Which map this is (title, labels, caption, key).
    pub def: &'static MapDef,
    /// The decayed counts, 65,536 of them, row-major (row = key >> 8).
    /// A slice of another length is drawn as far as it goes, the rest as zero.
    pub values: &'a [f32],
    /// Packets per second feeding this map, shown in its title line.
    pub rate_pps: f64,
    /// The slow baseline of the same cells (the change view's reference);
    /// `None` when the counters keep no baseline.
    pub baseline: Option<&'a [f32]>,
    /// This frame's scale numbers for the map (gain, maximum, rank table,
    /// rates); `None` draws the scale modes that need them as if the map were
    /// empty, which only matters outside the paper mode.
    pub scale: Option<&'a MapScale>,
}

impl TileInput<'_> {
    /// Whether this tile is drawn along the Hilbert curve under `order`: only
    /// address maps are, since only their keys are prefixes.
    pub fn follows_curve(&self, order: CellOrder) -> bool {
        order == CellOrder::Hilbert && self.def.key == Key::DstAddrLow16
    }

    /// The key shown in cell (`row`, `col`) of this tile's picture under `order`.
    pub fn key_at(&self, order: CellOrder, row: u16, col: u16) -> u16 {
        if self.follows_curve(order) {
            crate::hilbert::xy2d(col, row)
        } else {
            (row << 8) | (col & 0xff)
        }
    }
}

/// What the status line reports: where packets come from and how healthy
/// the pipeline is, so an operator can trust (or distrust) the picture.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusInfo {
    /// Source as a person names it: interface, file, stream or "demo".
    pub source: String,
    /// Synthetic traffic: a DEMO badge is shown so nobody mistakes it for real.
    pub demo: bool,
    /// Packets per second read from the source.
    pub packets_per_sec: f64,
    /// Packets the kernel dropped (capture buffer full).
    pub kernel_drops: u64,
    /// Packets the interface dropped.
    pub interface_drops: u64,
    /// Drops as a percentage of all packets seen.
    pub drop_percent: f64,
    /// The decay half-life, as shown (e.g. "10 s").
    pub half_life: String,
    /// Packet time of the newest packet counted (e.g. "2021-06-01 12:00:03").
    pub packet_clock: String,
    /// Frames drawn per second.
    pub frames_per_sec: f64,
    /// No packet for a while: a STALLED badge warns that the picture is old.
    pub stalled: bool,
    /// Packets scanwall itself had to drop (overload shedding, sFlow sample
    /// gaps), beyond what the kernel and interface dropped.
    pub shed: u64,
    /// The part about remote feeders (sensors, sFlow agents), worded by the
    /// display side (`crate::display::status`); empty without any.
    pub peers: String,
    /// A replay has read its whole file: seconds since then (its last
    /// packet), so a picture that no longer changes says why, and since when.
    pub ended_secs: Option<f64>,
}

/// One line of the help overlay: keys and what they do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpLine {
    /// The keys, as printed on the keyboard ("Tab / L").
    pub keys: String,
    /// What they do.
    pub action: String,
}

/// The hover readout: a text box next to the pointer, and the cell under it
/// outlined.
#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    /// Pointer position in pixels.
    pub x: i32,
    /// Pointer position in pixels.
    pub y: i32,
    /// What to say (may hold several lines).
    pub text: String,
}

/// How the frame is shown: everything the window's keys change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewState {
    /// Arrangement of the maps.
    pub layout: LayoutKind,
    /// Monitors of a video wall; maps never straddle a bezel.
    pub wall: Option<WallGrid>,
    /// Index (into the frame's tiles) of the map in focus.
    pub focus: usize,
    /// Presenter mode: the focus map large with its plain-language caption.
    pub presenter: bool,
    /// Blank screen (presenter's `B`): everything black.
    pub blank: bool,
    /// The picture is frozen; a FROZEN badge says so.
    pub frozen: bool,
    /// Help overlay lines; empty hides the overlay.
    pub help: Vec<HelpLine>,
    /// Hover readout, if the pointer is over a map.
    pub hover: Option<Hover>,
    /// A short message shown for a moment (e.g. where a screenshot went).
    pub notice: Option<String>,
    /// How values map onto the colour scale (key C).
    pub scale: ScaleMode,
    /// Counts or change against the baseline (key N).
    pub map_view: MapView,
    /// Row-major or Hilbert order for address maps (key K).
    pub order: CellOrder,
    /// The sequential colour map (key V).
    pub colours: ColourMap,
    /// How much larger than the default text is drawn (`--text-scale`).
    pub text_scale: TextScale,
    /// Scan events to outline, and the event list when shown (key E).
    pub events: EventOverlay,
    /// What is known of the local network (`--local`): axes and hover name
    /// real addresses with it. Set by the display side.
    pub local: crate::known::LocalPrefix,
}

impl ViewState {
    /// The layout request this view makes for a frame of `tiles` maps.
    pub fn arrange_request(&self, tiles: usize) -> layout::ArrangeRequest {
        layout::ArrangeRequest {
            kind: self.layout,
            tiles,
            focus: self.focus,
            presenter: self.presenter,
            wall: self.wall,
            text_scale: self.text_scale,
        }
    }

    /// Where everything goes for `tiles` maps on a `width` x `height` target:
    /// what the renderer draws and what the pointer is hit-tested against.
    pub fn arrange(&self, tiles: usize, width: u32, height: u32) -> Arrangement {
        layout::arrange(&self.arrange_request(tiles), width, height)
    }
}

/// Everything one frame shows.
#[derive(Clone, Debug)]
pub struct FrameInput<'a> {
    /// The shown maps, in order (focus and number keys index this).
    pub tiles: Vec<TileInput<'a>>,
    /// The status line.
    pub status: StatusInfo,
    /// How to show them.
    pub view: ViewState,
}

/// Why rendering could not happen.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No GPU and no software renderer.
    #[error(
        "no usable GPU adapter found ({0}); for software rendering install Mesa's Vulkan \
         driver (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers`), or try \
         WGPU_BACKEND=gl"
    )]
    NoAdapter(String),
    /// The adapter refused a device.
    #[error("the GPU adapter refused to open a device: {0}")]
    Device(#[from] wgpu::RequestDeviceError),
    /// The requested image is larger than the device allows.
    #[error("a {width}x{height} image is larger than this GPU allows ({max}x{max})")]
    TooLarge {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// Largest side the device allows.
        max: u32,
    },
    /// The image is more than the device reads back in one buffer (wgpu
    /// would panic creating it): said up front, with the largest square that fits.
    #[error(
        "a {width}x{height} image needs a {} MiB readback buffer, more than this GPU \
         device allows ({} MiB): ask for at most {side}x{side} (or as many pixels in \
         another shape)",
        .bytes.div_ceil(1 << 20),
        .max >> 20
    )]
    ReadbackTooLarge {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// Bytes the readback buffer would need.
        bytes: u64,
        /// The device's largest buffer, in bytes.
        max: u64,
        /// The largest square image whose readback fits.
        side: u32,
    },
    /// An empty image was requested.
    #[error("image size must be at least 1x1, got {0}x{1}")]
    Empty(u32, u32),
    /// Text could not be prepared (glyph atlas full).
    #[error("text rendering failed: {0}")]
    Text(String),
    /// The maps' staging memory could not be written.
    #[error("uploading the maps to the GPU failed: {0}")]
    Upload(String),
    /// Reading the image back from the GPU failed.
    #[error("reading the frame back from the GPU failed: {0}")]
    Readback(String),
    /// Writing the PNG failed.
    #[error("writing PNG: {0}")]
    Png(#[from] png::EncodingError),
    /// File system error while writing an image.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Renders one frame offscreen on the best adapter found and returns its
/// pixels: the headless path (`snapshot`, tests). Creates a device per call;
/// keep a [`Gpu`] and [`WallRenderer`] to render many frames.
pub fn render_offscreen(frame: &FrameInput<'_>, width: u32, height: u32) -> Result<RgbaImage, RenderError> {
    let gpu = Gpu::headless(AdapterChoice::from_env())?;
    let mut renderer = WallRenderer::new(&gpu, wgpu::TextureFormat::Rgba8Unorm);
    renderer.render_to_image(&gpu, frame, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_adapter_error_names_the_package_to_install() {
        let msg = RenderError::NoAdapter("none at all".into()).to_string();
        assert!(msg.contains("mesa-vulkan-drivers"), "{msg}");
        assert!(msg.contains("none at all"), "{msg}");
    }
}
