//! Text on the GPU with glyphon, from the bundled font only.
//!
//! Nothing depends on system fonts: the font system is built from the TTF in
//! `assets/fonts/`, so a wall, a CI runner and a headless server draw the
//! same glyphs. Shaped buffers are cached by (text, size, wrap width) because
//! most labels are the same every frame.

use std::collections::HashMap;

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
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct BufKey {
    text: String,
    size_bits: u32,
    wrap_bits: u32,
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

/// glyphon state: font system, glyph atlas and two layers of text.
pub(crate) struct TextSystem {
    fonts: FontSystem,
    swash: SwashCache,
    atlas: TextAtlas,
    viewport: Viewport,
    base: TextRenderer,
    overlay: TextRenderer,
    shaped: HashMap<BufKey, Shaped>,
    frame: u64,
}

impl TextSystem {
    /// Text for render targets of `format` (a non-sRGB format: colours are
    /// written as given, like the rest of the picture).
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, format: wgpu::TextureFormat) -> Self {
        let cache = Cache::new(device);
        let viewport = Viewport::new(device, &cache);
        let mut atlas = TextAtlas::with_color_mode(device, queue, &cache, format, ColorMode::Web);
        let base = TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None);
        let overlay = TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None);
        TextSystem {
            fonts: font_system(),
            swash: SwashCache::new(),
            atlas,
            viewport,
            base,
            overlay,
            shaped: HashMap::new(),
            frame: 0,
        }
    }

    fn key(text: &str, size: f32, wrap: Option<f32>) -> BufKey {
        BufKey {
            text: text.to_owned(),
            size_bits: size.to_bits(),
            wrap_bits: wrap.map_or(0, f32::to_bits),
        }
    }

    /// Shapes `text` (or finds it shaped) and returns its key.
    fn shape(&mut self, text: &str, size: f32, wrap: Option<f32>) -> BufKey {
        let key = Self::key(text, size, wrap);
        let frame = self.frame;
        if let Some(s) = self.shaped.get_mut(&key) {
            s.last_used = frame;
            return key;
        }
        let size = size.max(1.0);
        let mut buffer = Buffer::new(&mut self.fonts, Metrics::new(size, size * LINE_HEIGHT));
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
            key.clone(),
            Shaped {
                buffer,
                width,
                height,
                last_used: frame,
            },
        );
        key
    }

    /// Width and height `text` takes at `size` (wrapped at `wrap`, if given).
    pub fn measure(&mut self, text: &str, size: f32, wrap: Option<f32>) -> (f32, f32) {
        let key = self.shape(text, size, wrap);
        self.shaped.get(&key).map_or((0.0, 0.0), |s| (s.width, s.height))
    }

    /// Shapes and uploads this frame's text for a `width` x `height` target.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        width: u32,
        height: u32,
        items: &[TextItem],
    ) -> Result<(), glyphon::PrepareError> {
        self.viewport.update(queue, Resolution { width, height });
        let keys: Vec<BufKey> = items
            .iter()
            .map(|i| self.shape(&i.text, i.size, i.wrap))
            .collect();
        for overlay in [false, true] {
            let mut areas = Vec::new();
            for (item, key) in items.iter().zip(&keys) {
                if item.overlay != overlay {
                    continue;
                }
                let Some(s) = self.shaped.get(key) else {
                    continue;
                };
                let left = match item.anchor {
                    Anchor::Left => item.x,
                    Anchor::Right => item.x - s.width,
                    Anchor::Centre => item.x - s.width / 2.0,
                };
                let [r, g, b, a] = item.colour;
                let bounds = match item.clip {
                    Some([l, t, r, b]) => TextBounds {
                        left: l,
                        top: t,
                        right: r,
                        bottom: b,
                    },
                    None => TextBounds::default(),
                };
                areas.push(TextArea {
                    buffer: &s.buffer,
                    left: left.round(),
                    top: item.y.round(),
                    scale: 1.0,
                    bounds,
                    default_color: Color::rgba(r, g, b, a),
                    custom_glyphs: &[],
                });
            }
            let renderer = if overlay {
                &mut self.overlay
            } else {
                &mut self.base
            };
            renderer.prepare(
                device,
                queue,
                &mut self.fonts,
                &mut self.atlas,
                &self.viewport,
                areas,
                &mut self.swash,
            )?;
        }
        Ok(())
    }

    /// Draws the base or overlay layer into `pass`.
    pub fn render(&self, overlay: bool, pass: &mut wgpu::RenderPass<'_>) -> Result<(), glyphon::RenderError> {
        let renderer = if overlay { &self.overlay } else { &self.base };
        renderer.render(&self.atlas, &self.viewport, pass)
    }

    /// Frees glyphs and shaped lines no longer shown (status numbers change
    /// every frame; a wall runs for days).
    pub fn end_frame(&mut self) {
        self.atlas.trim();
        let frame = self.frame;
        if self.shaped.len() > 256 {
            self.shaped.retain(|_, s| frame.saturating_sub(s.last_used) < 2);
        }
        self.frame += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
