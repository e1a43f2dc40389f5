//! Text on the GPU with glyphon, from the bundled font only.
//!
//! Nothing depends on system fonts: the font system is built from the TTF in
//! `assets/fonts/`, so a wall, a CI runner and a headless server draw the
//! same glyphs. Shaped buffers are cached by (text, size, wrap width) because
//! most labels are the same every frame, and a layer of text whose items are
//! all as they were last frame is not prepared again: glyphon's prepare walks
//! every glyph and uploads its vertices, the largest part of a frame's CPU
//! after the maps' upload.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use glyphon::{
    Attrs, Buffer, Cache, Color, ColorMode, Family, FontSystem, Metrics, Resolution, Shaping, SwashCache,
    TextArea, TextAtlas, TextBounds, TextRenderer, Viewport, Wrap, fontdb,
};

/// The bundled font (DejaVu Sans; licence in `assets/fonts/`).
pub const FONT_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family name inside [`FONT_TTF`].
const FONT_FAMILY: &str = "DejaVu Sans";

/// Which way a text item extends from its anchor point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// `x` is the left edge.
    Left,
    /// `x` is the right edge.
    Right,
    /// `x` is the horizontal centre.
    Centre,
}

/// One piece of text to draw.
#[derive(Clone, Debug)]
pub(crate) struct TextItem {
    pub text: String,
    /// Anchor point; `y` is the top of the line box.
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub colour: [u8; 4],
    pub anchor: Anchor,
    /// Wrap at this width (captions); `None` keeps one line.
    pub wrap: Option<f32>,
    /// Clip to this box (left, top, right, bottom).
    pub clip: Option<[i32; 4]>,
    /// Drawn above the overlay panels (help, hover) rather than under them.
    pub overlay: bool,
    /// A measurement that changes from frame to frame (rates, the status
    /// line): prepared apart from the labels that stay, so that they can be kept.
    pub live: bool,
}

impl TextItem {
    /// A single-line item with no clipping on the base layer.
    pub fn new(text: impl Into<String>, x: f32, y: f32, size: f32, colour: [u8; 4]) -> Self {
        TextItem {
            text: text.into(),
            x,
            y,
            size,
            colour,
            anchor: Anchor::Left,
            wrap: None,
            clip: None,
            overlay: false,
            live: false,
        }
    }

    /// The same item with another anchor.
    pub fn anchored(mut self, anchor: Anchor) -> Self {
        self.anchor = anchor;
        self
    }

    /// The same item on the overlay layer.
    pub fn on_overlay(mut self) -> Self {
        self.overlay = true;
        self
    }

    /// The same item marked as a changing measurement (see [`TextItem::live`]).
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// Which of the [`TextSystem`]'s layers draws this item, given whether
    /// its box reaches into a map (see [`BACKDROP`]).
    fn layer(&self, over_map: bool) -> usize {
        match (self.overlay, self.live, over_map) {
            (true, _, _) => OVERLAY,
            (false, true, _) => LIVE,
            (false, false, true) => STEADY,
            (false, false, false) => BACKDROP,
        }
    }

    /// The left edge of this item when its text is `width` pixels wide.
    fn left(&self, width: f32) -> f32 {
        match self.anchor {
            Anchor::Left => self.x,
            Anchor::Right => self.x - width,
            Anchor::Centre => self.x - width / 2.0,
        }
    }

    /// The clip this item needs when its text is `width` x `height`: none
    /// when the text lies wholly inside it. glyphon clips glyph by glyph, and
    /// on a software renderer a frame of clipped labels cost as much again
    /// as the six maps; and a title's clip, which follows the width of the
    /// rate beside it, changes the title's pixels only when it cuts.
    fn clip_needed(&self, width: f32, height: f32) -> Option<[i32; 4]> {
        let left = self.left(width);
        let inside = |[l, t, r, b]: [i32; 4]| {
            left >= l as f32 && self.y >= t as f32 && left + width <= r as f32 && self.y + height <= b as f32
        };
        self.clip.filter(|&c| !inside(c))
    }

    /// Feeds everything that decides this item's pixels, but its clip, to
    /// `state` (see [`TextItem::clip_needed`]).
    fn hash_drawn(&self, state: &mut impl Hasher) {
        self.text.hash(state);
        (self.size.to_bits(), self.wrap.map(f32::to_bits)).hash(state);
        (self.x.to_bits(), self.y.to_bits(), self.colour, self.anchor as u8).hash(state);
    }
}

/// What a shaped buffer is cached under: text, size and wrap width.
#[derive(Clone, PartialEq, Eq)]
struct BufKey {
    text: String,
    size_bits: u32,
    wrap_bits: Option<u32>,
}

/// A borrowed [`BufKey`], so that the cache is searched without building a
/// `String` for every label of every frame.
#[derive(Clone, Copy)]
struct KeyRef<'a> {
    text: &'a str,
    size_bits: u32,
    wrap_bits: Option<u32>,
}

impl<'a> KeyRef<'a> {
    fn new(text: &'a str, size: f32, wrap: Option<f32>) -> Self {
        KeyRef {
            text,
            size_bits: size.to_bits(),
            wrap_bits: wrap.map(f32::to_bits),
        }
    }
}

/// The one view of a key that hashing and equality use, owned or borrowed.
trait AsKey {
    fn as_key(&self) -> KeyRef<'_>;
}

impl AsKey for BufKey {
    fn as_key(&self) -> KeyRef<'_> {
        KeyRef {
            text: &self.text,
            size_bits: self.size_bits,
            wrap_bits: self.wrap_bits,
        }
    }
}

impl AsKey for KeyRef<'_> {
    fn as_key(&self) -> KeyRef<'_> {
        *self
    }
}

impl Hash for dyn AsKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let k = self.as_key();
        (k.text, k.size_bits, k.wrap_bits).hash(state);
    }
}

impl PartialEq for dyn AsKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.as_key(), other.as_key());
        (a.text, a.size_bits, a.wrap_bits) == (b.text, b.size_bits, b.wrap_bits)
    }
}

impl Eq for dyn AsKey + '_ {}

impl Hash for BufKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn AsKey).hash(state);
    }
}

impl<'a> Borrow<dyn AsKey + 'a> for BufKey {
    fn borrow(&self) -> &(dyn AsKey + 'a) {
        self
    }
}

struct Shaped {
    buffer: Buffer,
    width: f32,
    height: f32,
    last_used: u64,
}

/// Line height as a multiple of the font size.
pub(crate) const LINE_HEIGHT: f32 = 1.25;

/// Builds the font system from the bundled font alone.
fn font_system() -> FontSystem {
    let mut db = fontdb::Database::new();
    db.load_font_data(FONT_TTF.to_vec());
    db.set_sans_serif_family(FONT_FAMILY);
    FontSystem::new_with_locale_and_db("en-US".into(), db)
}

/// The buffer [`TextSystem::shape`] made for these arguments, if kept.
fn find<'m>(
    shaped: &'m HashMap<BufKey, Shaped>,
    text: &str,
    size: f32,
    wrap: Option<f32>,
) -> Option<&'m Shaped> {
    shaped.get(&KeyRef::new(text, size, wrap) as &dyn AsKey)
}

/// Whether `item`, shaped `width` x `height`, comes within two pixels of
/// any of `maps` (x, y, width, height): glyphs may stand a pixel out of
/// their line box, and a label that close must be drawn after the map.
fn reaches_into(item: &TextItem, width: f32, height: f32, maps: &[[f32; 4]]) -> bool {
    const MARGIN: f32 = 2.0;
    let left = item.left(width);
    let (right, top, bottom) = (left + width, item.y, item.y + height);
    maps.iter().any(|&[x, y, w, h]| {
        left < x + w + MARGIN && right > x - MARGIN && top < y + h + MARGIN && bottom > y - MARGIN
    })
}

/// The base layer's labels that stay from frame to frame (titles, axes,
/// legend) and lie clear of every map: the renderer may draw them once into
/// a backdrop kept under the frames that follow (see `gpu::frame`), since no
/// map is drawn over them.
const BACKDROP: usize = 0;
/// The steady labels that reach into a map (the /20 labels inside a map in
/// Hilbert order): drawn every frame, after the maps.
const STEADY: usize = 1;
/// The base layer's measurements ([`TextItem::live`]), drawn after [`STEADY`].
const LIVE: usize = 2;
/// Text above the overlay panels.
const OVERLAY: usize = 3;
/// How many layers there are.
const LAYERS: usize = 4;

/// Frames between trims of the glyph atlas. A trim forgets which glyphs are
/// in use, so every layer is prepared again after it (a kept layer's glyphs
/// could otherwise be evicted under it). Between trims every glyph drawn
/// stays pinned in the atlas: 64 frames of changing numbers, a bounded set.
/// A new target size (every font size changes) or a failed prepare trims at once.
const TRIM_EVERY: u64 = 64;

/// Where one item of a frame goes: its layer, and the clip it needs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Placed {
    layer: usize,
    clip: Option<[i32; 4]>,
}

/// One glyphon renderer and what it holds.
struct Layer {
    renderer: TextRenderer,
    /// A hash of the items and target size it was last prepared with; `None`
    /// when it must be prepared (first frame, after a trim or a failure).
    prepared: Option<u64>,
}

/// glyphon state: font system, glyph atlas and three layers of text.
pub(crate) struct TextSystem {
    fonts: FontSystem,
    swash: SwashCache,
    atlas: TextAtlas,
    viewport: Viewport,
    layers: [Layer; LAYERS],
    /// Each item's layer and clip this frame, in item order (reused frame
    /// to frame).
    placed: Vec<Placed>,
    /// A hash of what each layer draws this frame (items and target size),
    /// kept through trims: the backdrop's text is this frame's when the
    /// [`BACKDROP`] hash is the one it was drawn with.
    drawn: [u64; LAYERS],
    shaped: HashMap<BufKey, Shaped>,
    frame: u64,
    /// The target size the layers were prepared for.
    target: Option<(u32, u32)>,
}

impl TextSystem {
    /// Text for render targets of `format` (a non-sRGB format: colours are
    /// written as given, like the rest of the picture).
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, format: wgpu::TextureFormat) -> Self {
        let cache = Cache::new(device);
        let viewport = Viewport::new(device, &cache);
        let mut atlas = TextAtlas::with_color_mode(device, queue, &cache, format, ColorMode::Web);
        let layers = [(); LAYERS].map(|()| Layer {
            renderer: TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None),
            prepared: None,
        });
        TextSystem {
            fonts: font_system(),
            swash: SwashCache::new(),
            atlas,
            viewport,
            layers,
            placed: Vec::new(),
            drawn: [0; LAYERS],
            shaped: HashMap::new(),
            frame: 0,
            target: None,
        }
    }

    /// Shapes `text` at `size` (wrapped at `wrap`), unless it is shaped
    /// already, and marks it used this frame; [`find`] finds it. Returns
    /// its width and height.
    fn shape(&mut self, text: &str, size: f32, wrap: Option<f32>) -> (f32, f32) {
        let frame = self.frame;
        if let Some(s) = self.shaped.get_mut(&KeyRef::new(text, size, wrap) as &dyn AsKey) {
            s.last_used = frame;
            return (s.width, s.height);
        }
        // Kept under the size asked for, which is what lookups use.
        let px = size.max(1.0);
        let mut buffer = Buffer::new(&mut self.fonts, Metrics::new(px, px * LINE_HEIGHT));
        buffer.set_wrap(if wrap.is_some() { Wrap::Word } else { Wrap::None });
        buffer.set_size(wrap, None);
        buffer.set_text(
            text,
            &Attrs::new().family(Family::SansSerif),
            Shaping::Advanced,
            None,
        );
        buffer.shape_until_scroll(&mut self.fonts, false);
        let (mut width, mut height) = (0.0f32, 0.0f32);
        for run in buffer.layout_runs() {
            width = width.max(run.line_w);
            height = height.max(run.line_top + run.line_height);
        }
        self.shaped.insert(
            BufKey {
                text: text.to_owned(),
                size_bits: size.to_bits(),
                wrap_bits: wrap.map(f32::to_bits),
            },
            Shaped {
                buffer,
                width,
                height,
                last_used: frame,
            },
        );
        (width, height)
    }

    /// Width and height `text` takes at `size` (wrapped at `wrap`, if given).
    pub fn measure(&mut self, text: &str, size: f32, wrap: Option<f32>) -> (f32, f32) {
        self.shape(text, size, wrap)
    }

    /// Shapes and uploads this frame's text for a `width` x `height` target
    /// on which `maps` (x, y, width, height) are drawn. A layer whose items
    /// are all as they were when it was last prepared keeps what it has on
    /// the GPU.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        width: u32,
        height: u32,
        items: &[TextItem],
        maps: &[[f32; 4]],
    ) -> Result<(), glyphon::PrepareError> {
        self.viewport.update(queue, Resolution { width, height });
        if self.target != Some((width, height)) {
            // Every font size follows the target's: none of the glyphs in
            // use, and no line shaped before this frame, will be drawn again
            // (a window being resized would otherwise pile up lines and
            // glyphs of every size it passed through until the next trim).
            self.forget_glyphs();
            let frame = self.frame;
            self.shaped.retain(|_, s| s.last_used >= frame);
            self.target = Some((width, height));
        }
        self.placed.clear();
        for item in items {
            let (w, h) = self.shape(&item.text, item.size, item.wrap);
            self.placed.push(Placed {
                layer: item.layer(reaches_into(item, w, h, maps)),
                clip: item.clip_needed(w, h),
            });
        }
        let in_layer = |layer: usize| {
            items
                .iter()
                .zip(&self.placed)
                .filter(move |&(_, p)| p.layer == layer)
        };
        for layer in [BACKDROP, STEADY, LIVE, OVERLAY] {
            let mut drawn = DefaultHasher::new();
            (width, height).hash(&mut drawn);
            for (item, placed) in in_layer(layer) {
                item.hash_drawn(&mut drawn);
                placed.clip.hash(&mut drawn);
            }
            let drawn = drawn.finish();
            self.drawn[layer] = drawn;
            if self.layers[layer].prepared == Some(drawn) {
                continue;
            }
            let mut areas = Vec::new();
            for (item, placed) in in_layer(layer) {
                let Some(s) = find(&self.shaped, &item.text, item.size, item.wrap) else {
                    continue;
                };
                let [r, g, b, a] = item.colour;
                let bounds = placed.clip.map_or_else(TextBounds::default, |c| TextBounds {
                    left: c[0],
                    top: c[1],
                    right: c[2],
                    bottom: c[3],
                });
                areas.push(TextArea {
                    buffer: &s.buffer,
                    left: item.left(s.width).round(),
                    top: item.y.round(),
                    scale: 1.0,
                    bounds,
                    default_color: Color::rgba(r, g, b, a),
                    custom_glyphs: &[],
                });
            }
            let prepared = self.layers[layer].renderer.prepare(
                device,
                queue,
                &mut self.fonts,
                &mut self.atlas,
                &self.viewport,
                areas,
                &mut self.swash,
            );
            if let Err(e) = prepared {
                // A full atlas would stay full until the next trim; and the
                // layer holds nothing it can be trusted with.
                self.forget_glyphs();
                return Err(e);
            }
            self.layers[layer].prepared = Some(drawn);
        }
        Ok(())
    }

    /// Trims the atlas (no glyph is in use any more) and so marks every
    /// layer to be prepared again.
    fn forget_glyphs(&mut self) {
        self.atlas.trim();
        for layer in &mut self.layers {
            layer.prepared = None;
        }
    }

    /// Draws the labels kept in the backdrop ([`BACKDROP`]) into `pass`.
    pub fn render_backdrop(&self, pass: &mut wgpu::RenderPass<'_>) -> Result<(), glyphon::RenderError> {
        self.render_layers(&[BACKDROP], pass)
    }

    /// Draws the base text drawn every frame over the maps (the labels inside
    /// them, then the measurements) or the overlay layer into `pass`.
    pub fn render(&self, overlay: bool, pass: &mut wgpu::RenderPass<'_>) -> Result<(), glyphon::RenderError> {
        self.render_layers(if overlay { &[OVERLAY] } else { &[STEADY, LIVE] }, pass)
    }

    fn render_layers(
        &self,
        layers: &[usize],
        pass: &mut wgpu::RenderPass<'_>,
    ) -> Result<(), glyphon::RenderError> {
        for &layer in layers {
            self.layers[layer]
                .renderer
                .render(&self.atlas, &self.viewport, pass)?;
        }
        Ok(())
    }

    /// A hash of what [`TextSystem::render_backdrop`] draws this frame (its
    /// items and the target size): a backdrop drawn with the same hash has
    /// the same text.
    pub fn backdrop_hash(&self) -> u64 {
        self.drawn[BACKDROP]
    }

    /// Frees glyphs and shaped lines no longer shown (status numbers change
    /// every frame; a wall runs for days), every [`TRIM_EVERY`] frames: the
    /// atlas forgets which glyphs are in use, every layer is prepared again
    /// next frame, and lines not shaped or prepared since the last trim go.
    /// (A kept layer's lines were last used when it was prepared, after that
    /// trim, so they stay.)
    pub fn end_frame(&mut self) {
        self.frame += 1;
        if self.frame.is_multiple_of(TRIM_EVERY) {
            self.forget_glyphs();
            let since = self.frame - TRIM_EVERY;
            self.shaped.retain(|_, s| s.last_used >= since);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{AdapterChoice, Gpu};

    /// A wall runs for days with numbers that change every frame: the shaped
    /// lines stay bounded, and the labels' layer is prepared only after trims.
    #[test]
    fn changing_numbers_keep_the_labels_and_bounded_caches() {
        let Ok(gpu) = Gpu::headless(AdapterChoice::Software) else {
            eprintln!("skipped: no software adapter (install mesa-vulkan-drivers)");
            return;
        };
        let mut text = TextSystem::new(&gpu.device, &gpu.queue, wgpu::TextureFormat::Rgba8Unorm);
        let labels: Vec<TextItem> = (0..20)
            .map(|i| TextItem::new(format!("label {i}"), 10.0, 20.0 * i as f32, 14.0, [255; 4]))
            .collect();
        let mut last_steady = None;
        let mut backdrop = None;
        for k in 0..3 * TRIM_EVERY + 5 {
            let mut items = labels.clone();
            items.push(TextItem::new(format!("{k} pkt/s"), 300.0, 10.0, 14.0, [255; 4]).live());
            let trimmed = text.layers[BACKDROP].prepared.is_none();
            text.prepare(&gpu.device, &gpu.queue, 640, 480, &items, &[])
                .expect("prepare");
            let steady = text.layers[BACKDROP].prepared;
            assert!(steady.is_some() && text.layers[LIVE].prepared.is_some());
            if k > 0 && !trimmed {
                assert_eq!(steady, last_steady, "frame {k}: labels prepared again");
            }
            last_steady = steady;
            // What the labels draw is the same through the trims.
            assert_eq!(
                *backdrop.get_or_insert(text.backdrop_hash()),
                text.backdrop_hash()
            );
            assert!(
                text.shaped.len() <= labels.len() + 2 * TRIM_EVERY as usize,
                "{}",
                text.shaped.len()
            );
            text.end_frame();
            assert_eq!(
                text.layers[BACKDROP].prepared.is_none(),
                (k + 1) % TRIM_EVERY == 0
            );
        }
        // A new target size: only this frame's lines stay shaped.
        let mut items = labels.clone();
        items.push(TextItem::new("1 pkt/s", 300.0, 10.0, 14.0, [255; 4]).live());
        text.prepare(&gpu.device, &gpu.queue, 800, 600, &items, &[])
            .expect("prepare");
        assert_eq!(text.shaped.len(), items.len());
    }

    /// Labels clear of every map may go into the backdrop; those that reach
    /// into a map (or come within two pixels of one) are drawn after it.
    #[test]
    fn labels_over_maps_are_kept_out_of_the_backdrop() {
        let Ok(gpu) = Gpu::headless(AdapterChoice::Software) else {
            eprintln!("skipped: no software adapter (install mesa-vulkan-drivers)");
            return;
        };
        let mut text = TextSystem::new(&gpu.device, &gpu.queue, wgpu::TextureFormat::Rgba8Unorm);
        let map = [100.0, 100.0, 256.0, 256.0];
        let (w, h) = text.measure("x.x.16.0", 14.0, None);
        let items = [
            // Inside the map.
            TextItem::new("x.x.16.0", 150.0, 150.0, 14.0, [255; 4]),
            // Left of it, ending at its edge (right-anchored): reaches it.
            TextItem::new("x.x.16.0", 100.0, 200.0, 14.0, [255; 4]).anchored(Anchor::Right),
            // Left of it, three pixels clear.
            TextItem::new("x.x.16.0", 97.0 - w, 200.0, 14.0, [255; 4]),
            // Above it, its box ending a pixel short of the map.
            TextItem::new("x.x.16.0", 200.0, 99.0 - h, 14.0, [255; 4]).anchored(Anchor::Centre),
            // Above it, well clear; and a measurement inside it.
            TextItem::new("x.x.16.0", 200.0, 20.0, 14.0, [255; 4]),
            TextItem::new("9 pkt/s", 150.0, 300.0, 14.0, [255; 4]).live(),
        ];
        text.prepare(&gpu.device, &gpu.queue, 640, 480, &items, &[map])
            .expect("prepare");
        let layers = |t: &TextSystem| t.placed.iter().map(|p| p.layer).collect::<Vec<_>>();
        assert_eq!(layers(&text), [STEADY, STEADY, BACKDROP, STEADY, BACKDROP, LIVE]);
        // With no maps every steady label is in the backdrop.
        text.prepare(&gpu.device, &gpu.queue, 640, 480, &items, &[])
            .expect("prepare");
        assert_eq!(
            layers(&text),
            [BACKDROP, BACKDROP, BACKDROP, BACKDROP, BACKDROP, LIVE]
        );
    }

    #[test]
    fn bundled_font_is_the_only_font_and_shapes_text() {
        let mut fonts = font_system();
        assert_eq!(fonts.db().len(), 1);
        let mut buffer = Buffer::new(&mut fonts, Metrics::new(20.0, 25.0));
        buffer.set_text(
            "x.x.37.200",
            &Attrs::new().family(Family::SansSerif),
            Shaping::Advanced,
            None,
        );
        buffer.shape_until_scroll(&mut fonts, false);
        let w: f32 = buffer.layout_runs().map(|r| r.line_w).sum();
        assert!(w > 50.0 && w < 150.0, "{w}");
        let glyphs: usize = buffer.layout_runs().map(|r| r.glyphs.len()).sum();
        assert_eq!(glyphs, 10);
    }
}
