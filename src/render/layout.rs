//! Where everything goes on the screen: pure arithmetic, no GPU.
//!
//! The renderer draws what [`arrange`] returns and the window hit-tests the
//! pointer against the same answer, so a hover readout always names the cell
//! that is under the pointer. All rectangles are whole pixels. A map takes
//! all the room its tile leaves (a wall read from 4 m needs every pixel), so
//! its side is any whole number of pixels: each cell is then a whole number of
//! pixels (sharp edges, no blur; neighbouring cells may differ by one pixel),
//! or, below 256, several cells share a pixel and the shader max-pools them.
//! Where a whole multiple of 256 costs little (see [`crisp_side`]) it is
//! taken, so every cell is a square of equal size.

use std::fmt;
use std::str::FromStr;

use crate::maps::SIDE;

/// An axis-aligned rectangle in whole pixels, origin at the top left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width (never negative).
    pub w: i32,
    /// Height (never negative).
    pub h: i32,
}

impl Rect {
    /// A rectangle; negative sizes become zero so callers need not check.
    pub fn new(x: i32, y: i32, w: i32, h: i32) -> Self {
        Rect {
            x,
            y,
            w: w.max(0),
            h: h.max(0),
        }
    }

    /// One past the right edge.
    pub fn right(&self) -> i32 {
        self.x + self.w
    }

    /// One past the bottom edge.
    pub fn bottom(&self) -> i32 {
        self.y + self.h
    }

    /// Whether the pixel whose top-left corner is (px, py) lies inside.
    pub fn contains(&self, px: i32, py: i32) -> bool {
        px >= self.x && py >= self.y && px < self.right() && py < self.bottom()
    }

    /// Whether `other` lies wholly inside this rectangle.
    pub fn encloses(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// Whether the two rectangles share at least one pixel.
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right() && other.x < self.right() && self.y < other.bottom() && other.y < self.bottom()
    }

    /// The rectangle shrunk by `d` pixels on every side.
    pub fn inset(&self, d: i32) -> Rect {
        Rect::new(self.x + d, self.y + d, self.w - 2 * d, self.h - 2 * d)
    }

    /// A frame `t` pixels wide along the inside of the rectangle, as four
    /// strips (top, bottom, left, right; the sides between the top and the
    /// bottom): a software renderer fills every pixel of a rectangle, so a
    /// frame is drawn as its edges, never as a filled rectangle under what
    /// it surrounds.
    pub fn edges(&self, t: i32) -> [Rect; 4] {
        [
            Rect::new(self.x, self.y, self.w, t),
            Rect::new(self.x, self.bottom() - t, self.w, t),
            Rect::new(self.x, self.y + t, t, self.h - 2 * t),
            Rect::new(self.right() - t, self.y + t, t, self.h - 2 * t),
        ]
    }

    /// Cell `i` of `n` equal columns (the last one takes the rounding slack).
    fn column(&self, i: i32, n: i32) -> Rect {
        let x0 = self.x + self.w * i / n;
        let x1 = self.x + self.w * (i + 1) / n;
        Rect::new(x0, self.y, x1 - x0, self.h)
    }

    /// Cell `i` of `n` equal rows.
    fn row(&self, i: i32, n: i32) -> Rect {
        let y0 = self.y + self.h * i / n;
        let y1 = self.y + self.h * (i + 1) / n;
        Rect::new(self.x, y0, self.w, y1 - y0)
    }

    /// Cell (col, row) of a `cols` x `rows` grid.
    fn cell(&self, col: i32, row: i32, cols: i32, rows: i32) -> Rect {
        self.column(col, cols).row(row, rows)
    }
}

/// How the shown maps share the screen (`--layout`, Tab / L cycle).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LayoutKind {
    /// Three across, as many rows as needed (two for the six default maps).
    #[default]
    Grid3x2,
    /// Two across, as many rows as needed (three for six maps).
    Grid2x3,
    /// The map in focus large, the others small along the right and bottom.
    Focus,
    /// Only the map in focus.
    Single,
}

impl LayoutKind {
    /// Every layout, in the order Tab cycles through them.
    pub const ALL: [LayoutKind; 4] = [
        LayoutKind::Grid3x2,
        LayoutKind::Grid2x3,
        LayoutKind::Focus,
        LayoutKind::Single,
    ];

    /// The command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            LayoutKind::Grid3x2 => "grid-3x2",
            LayoutKind::Grid2x3 => "grid-2x3",
            LayoutKind::Focus => "focus",
            LayoutKind::Single => "single",
        }
    }

    /// The layout Tab switches to.
    pub fn next(self) -> LayoutKind {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

impl fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LayoutKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|k| k.name() == s).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            format!("unknown layout `{s}`; the layouts are: {}", all.join(", "))
        })
    }
}

/// A video wall of `columns` x `rows` equal monitors showing one desktop
/// (`--wall-grid 3x2`): no map may straddle a bezel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallGrid {
    /// Monitors across.
    pub columns: u32,
    /// Monitors down.
    pub rows: u32,
}

impl WallGrid {
    /// Number of monitors.
    pub fn monitors(&self) -> usize {
        (self.columns * self.rows) as usize
    }

    /// The screen area of monitor `i` (row-major) on a desktop of `screen`.
    pub fn monitor(&self, screen: Rect, i: usize) -> Rect {
        let cols = self.columns.max(1) as i32;
        let rows = self.rows.max(1) as i32;
        let i = i as i32;
        screen.cell(i % cols, i / cols, cols, rows)
    }
}

impl FromStr for WallGrid {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("bad wall grid `{s}`: expected COLUMNSxROWS, e.g. 3x2");
        let (c, r) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let columns: u32 = c.trim().parse().map_err(|_| bad())?;
        let rows: u32 = r.trim().parse().map_err(|_| bad())?;
        if columns == 0 || rows == 0 || columns > 16 || rows > 16 {
            return Err(format!("bad wall grid `{s}`: 1 to 16 monitors across and down"));
        }
        Ok(WallGrid { columns, rows })
    }
}

impl fmt::Display for WallGrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.columns, self.rows)
    }
}

/// How much larger than the default all text is drawn (`--text-scale`):
/// 1.0 sizes titles at about 3 % of the screen height, readable from about
/// 4 m on a 55-inch 1080p screen; a room read from further away wants more.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextScale(pub f32);

impl TextScale {
    /// The factors `--text-scale` accepts: beyond them text crowds the maps
    /// out or cannot be read at all.
    pub const RANGE: std::ops::RangeInclusive<f32> = 0.5..=3.0;

    /// The factor, held to [`Self::RANGE`] (a hand-built value cannot break
    /// the layout).
    pub fn factor(self) -> f32 {
        if self.0.is_finite() {
            self.0.clamp(*Self::RANGE.start(), *Self::RANGE.end())
        } else {
            1.0
        }
    }
}

impl Default for TextScale {
    fn default() -> Self {
        TextScale(1.0)
    }
}

impl FromStr for TextScale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "bad text scale `{s}`: expected a factor from {} to {}, e.g. 1.5",
                Self::RANGE.start(),
                Self::RANGE.end()
            )
        };
        let v: f32 = s.trim().parse().map_err(|_| bad())?;
        if Self::RANGE.contains(&v) {
            Ok(TextScale(v))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for TextScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Sizes of a tile's decorations, derived from two font sizes: the title,
/// sized to be read across the room, and the axis labels, which are read up
/// close and so kept small to leave the room to the map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileMetrics {
    /// Font size of the axis labels and the rate, in pixels.
    pub font_px: f32,
    /// Font size of the title, in pixels.
    pub title_px: f32,
    /// Height of the title line.
    pub title_h: i32,
    /// Height of the column-label line above the map.
    pub label_h: i32,
    /// Width reserved for row labels left of the map.
    pub label_w: i32,
    /// Length of the ticks on each edge.
    pub tick: i32,
    /// Space around everything.
    pub pad: i32,
}

impl TileMetrics {
    /// Metrics for labels of `font_px` and a title of `title_px`.
    pub fn for_fonts(font_px: f32, title_px: f32) -> Self {
        let f = font_px;
        TileMetrics {
            font_px: f,
            title_px,
            title_h: (title_px * 1.3).round() as i32,
            label_h: (f * 1.3).round() as i32,
            label_w: (f * 7.2).round() as i32,
            tick: (f * 0.35).round().max(3.0) as i32,
            pad: (f * 0.4).round().max(2.0) as i32,
        }
    }
}

/// One shown map: which tile, the area it owns and the square its cells fill.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TileSlot {
    /// Index into the frame's tiles.
    pub tile: usize,
    /// Everything this tile owns: title, labels, ticks and map.
    pub region: Rect,
    /// The square the 256 x 256 cells fill.
    pub map: Rect,
    /// Decoration sizes for this tile.
    pub metrics: TileMetrics,
}

impl TileSlot {
    /// Lays out a tile inside `region`: the map is as large as fits beside
    /// its labels ([`crisp_side`] of it).
    pub fn fit(tile: usize, region: Rect, fonts: (f32, f32)) -> TileSlot {
        let m = TileMetrics::for_fonts(fonts.0, fonts.1);
        let avail_w = region.w - m.label_w - 2 * m.tick - 2 * m.pad;
        let avail_h = region.h - m.title_h - m.label_h - 2 * m.tick - m.pad;
        let side = crisp_side(avail_w.min(avail_h));
        // Centre the block [labels | ticks | map | ticks] horizontally and
        // [title | labels | ticks | map | ticks] vertically.
        let block_w = m.label_w + 2 * m.tick + side;
        let block_h = m.title_h + m.label_h + 2 * m.tick + side;
        let x = region.x + (region.w - block_w) / 2 + m.label_w + m.tick;
        let y = region.y + (region.h - block_h).max(0) / 2 + m.title_h + m.label_h + m.tick;
        TileSlot {
            tile,
            region,
            map: Rect::new(x, y, side, side),
            metrics: m,
        }
    }

    /// The cell under pixel (px, py), as the shader computes it, or `None`
    /// outside the map.
    pub fn cell_at(&self, px: i32, py: i32) -> Option<(u16, u16)> {
        if !self.map.contains(px, py) || self.map.w == 0 {
            return None;
        }
        let cell = |p: i32, origin: i32| -> u16 {
            // Pixel centres, as the fragment shader sees them.
            let rel = (p as f32 + 0.5 - origin as f32) * SIDE as f32 / self.map.w as f32;
            // Clamped to 0..=255 first, so the cast is exact.
            rel.floor().clamp(0.0, (SIDE - 1) as f32) as u16
        };
        Some((cell(py, self.map.y), cell(px, self.map.x)))
    }

    /// The pixel rectangle cell (row, col) covers.
    pub fn cell_rect(&self, row: u16, col: u16) -> Rect {
        let side = SIDE as i32;
        let at = |i: u16, origin: i32| -> (i32, i32) {
            let i = i32::from(i);
            // First pixel whose centre falls in cell i, and first of cell i+1.
            let edge = |k: i32| origin + ((k * self.map.w) as f32 / side as f32 - 0.5).ceil() as i32;
            (edge(i), edge(i + 1))
        };
        let (x0, x1) = at(col, self.map.x);
        let (y0, y1) = at(row, self.map.y);
        Rect::new(x0, y0, x1 - x0, y1 - y0)
    }
}

/// The side of a map given `avail` pixels: the largest multiple of 256 not
/// above it when that gives up at most a twelfth of the side (every cell
/// then the same square), otherwise all of `avail` (cells a whole number of
/// pixels each, one pixel apart in size at most). Below 256 it is `avail`
/// too: cells then share pixels, and the shader max-pools them so that none
/// is hidden.
pub fn crisp_side(avail: i32) -> i32 {
    let side = SIDE as i32;
    let whole = avail / side * side;
    if avail >= side && (avail - whole) * 12 <= avail {
        whole
    } else {
        avail.max(0)
    }
}

/// The legend and status line strip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Footer {
    /// The strip.
    pub area: Rect,
    /// Font size of its text.
    pub font_px: f32,
    /// Whether the status line is drawn here (on a wall, only one strip has it).
    pub status: bool,
    /// Whether legend and status are on two lines (narrow screens).
    pub two_lines: bool,
}

/// Everything's place on one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrangement {
    /// The whole drawable area.
    pub screen: Rect,
    /// The shown maps.
    pub slots: Vec<TileSlot>,
    /// Legend and status strips (one per monitor of the bottom row on a wall).
    pub footers: Vec<Footer>,
    /// Presenter mode: where the caption goes.
    pub caption: Option<Rect>,
}

impl Arrangement {
    /// The tile slot and cell under pixel (px, py): what the hover readout names.
    pub fn hit(&self, px: i32, py: i32) -> Option<(&TileSlot, u16, u16)> {
        self.slots
            .iter()
            .find_map(|s| s.cell_at(px, py).map(|(r, c)| (s, r, c)))
    }
}

/// What to arrange: the view options that move things.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArrangeRequest {
    /// Layout of the maps.
    pub kind: LayoutKind,
    /// Number of maps in the frame.
    pub tiles: usize,
    /// Index of the map in focus (clamped to the tiles).
    pub focus: usize,
    /// Presenter mode: one map large with its caption.
    pub presenter: bool,
    /// Monitors of a video wall, if any.
    pub wall: Option<WallGrid>,
    /// How much larger than the default text is drawn (`--text-scale`).
    pub text_scale: TextScale,
}

/// Font size for a strip on a screen area `h` pixels high.
fn footer_font(area: Rect, scale: TextScale) -> f32 {
    (area.h as f32 / 60.0 * scale.factor()).clamp(11.0, 54.0)
}

/// Font sizes (axis labels, title) for a tile `region` on a monitor `mon`.
/// Titles are about 3 % of the monitor's height, so they read from across
/// the room whatever the screen; the labels about 1.4 %, as they are read up
/// close. Both give way in tiles too small to hold them beside a map.
fn tile_fonts(region: Rect, mon: Rect, scale: TextScale) -> (f32, f32) {
    let k = scale.factor();
    let short = region.h.min(region.w) as f32;
    let title = (mon.h as f32 * 0.03 * k).min(short / 9.0).clamp(11.0, 120.0);
    let label = (mon.h as f32 * 0.014 * k).min(short / 28.0).clamp(9.0, 56.0);
    (label, title)
}

/// Splits `area` into tile regions and a footer strip at its bottom.
fn with_footer(area: Rect, status: bool, scale: TextScale) -> (Rect, Footer) {
    let font = footer_font(area, scale);
    // Legend (eight swatches with labels) plus status need about 110 ems.
    let two_lines = (area.w as f32) < font * 110.0;
    let lines = if two_lines { 2.0 } else { 1.0 };
    let h = (font * (1.9 * lines + 0.5)).round() as i32;
    let footer = Rect::new(area.x, area.bottom() - h, area.w, h);
    let rest = Rect::new(area.x, area.y, area.w, area.h - h);
    (
        rest,
        Footer {
            area: footer,
            font_px: font,
            status,
            two_lines,
        },
    )
}

/// Regions for `count` tiles in `area` under `kind` (focus tile first).
fn regions(kind: LayoutKind, count: usize, area: Rect) -> Vec<Rect> {
    let n = count as i32;
    if n == 0 {
        return Vec::new();
    }
    let grid = |cols: i32| -> Vec<Rect> {
        let cols = cols.min(n).max(1);
        let rows = (n + cols - 1) / cols;
        (0..n)
            .map(|i| area.cell(i % cols, i / cols, cols, rows))
            .collect()
    };
    match kind {
        LayoutKind::Grid3x2 | LayoutKind::Grid2x3 => grid(grid_columns(kind, count) as i32),
        LayoutKind::Single => vec![area],
        LayoutKind::Focus => {
            if n == 1 {
                return vec![area];
            }
            // A k x k grid: the large tile takes (k-1) x (k-1) at the top left,
            // the small ones run down the right column and then along the
            // bottom row left to right (reading order, as a grid reads; they
            // wrapped clockwise, so the bottom row read right to left).
            let small = n - 1;
            let k = ((small + 2) / 2).max(2);
            let big = Rect::new(area.x, area.y, area.w * (k - 1) / k, area.h * (k - 1) / k);
            let mut out = vec![big];
            let mut spots = Vec::new();
            for r in 0..k - 1 {
                spots.push((k - 1, r));
            }
            for c in 0..k {
                spots.push((c, k - 1));
            }
            for &(c, r) in spots.iter().take(small as usize) {
                out.push(area.cell(c, r, k, k));
            }
            out
        }
    }
}

/// Columns of a grid layout for `tiles` maps (1 for the other layouts). The
/// grid's name is its shape for six maps; for another count the rows are
/// those that shape needs (at most 3 across, or 2) and the columns are then
/// as few as fill them, so no row is left half empty where it need not be:
/// four maps are 2 x 2, not three and one with two empty tiles.
pub fn grid_columns(kind: LayoutKind, tiles: usize) -> usize {
    let widest = match kind {
        LayoutKind::Grid3x2 => 3,
        LayoutKind::Grid2x3 => 2,
        LayoutKind::Focus | LayoutKind::Single => return 1,
    };
    let n = tiles.max(1);
    let rows = n.div_ceil(widest);
    n.div_ceil(rows)
}

/// The order tiles are placed in: the focus tile first for focus layouts,
/// otherwise the frame's order.
fn order(kind: LayoutKind, tiles: usize, focus: usize) -> Vec<usize> {
    match kind {
        LayoutKind::Focus => std::iter::once(focus)
            .chain((0..tiles).filter(|&t| t != focus))
            .collect(),
        LayoutKind::Single => vec![focus],
        _ => (0..tiles).collect(),
    }
}

/// Places the frame's maps, legend and status on a `width` x `height` screen.
pub fn arrange(req: &ArrangeRequest, width: u32, height: u32) -> Arrangement {
    let screen = Rect::new(0, 0, width as i32, height as i32);
    let focus = req.focus.min(req.tiles.saturating_sub(1));
    if req.presenter {
        return presenter(req, screen, focus);
    }
    let kind = req.kind;
    let order = if req.tiles == 0 {
        Vec::new()
    } else {
        order(kind, req.tiles, focus)
    };
    let mut slots = Vec::new();
    let mut footers = Vec::new();
    // A wall of no monitors (only constructible by hand) is no wall.
    match req.wall.filter(|w| w.columns > 0 && w.rows > 0) {
        None => {
            let (area, footer) = with_footer(screen, true, req.text_scale);
            footers.push(footer);
            for (&tile, region) in order.iter().zip(regions(kind, order.len(), area)) {
                slots.push(TileSlot::fit(
                    tile,
                    region,
                    tile_fonts(region, screen, req.text_scale),
                ));
            }
        }
        Some(wall) => {
            let monitors: Vec<Rect> = (0..wall.monitors()).map(|i| wall.monitor(screen, i)).collect();
            // Every monitor of the bottom row keeps a legend; the last one
            // also carries the status line.
            let bottom_row = wall.monitors() - wall.columns as usize;
            let mut areas = Vec::new();
            for (i, mon) in monitors.iter().enumerate() {
                if i >= bottom_row {
                    let (area, footer) = with_footer(*mon, i + 1 == monitors.len(), req.text_scale);
                    footers.push(footer);
                    areas.push(area);
                } else {
                    areas.push(*mon);
                }
            }
            let per_monitor = wall_assignment(kind, order.len(), wall);
            let mut next = order.iter();
            for (m, count) in per_monitor.iter().enumerate() {
                let sub_kind = if kind == LayoutKind::Focus && m == 0 {
                    LayoutKind::Single
                } else {
                    LayoutKind::Grid3x2
                };
                let tiles: Vec<usize> = next.by_ref().take(*count).copied().collect();
                let mon_index = monitor_for(kind, m, wall);
                let area = areas[mon_index];
                let sub = if count > &1 && sub_kind != LayoutKind::Single {
                    near_square_regions(tiles.len(), area)
                } else {
                    regions(LayoutKind::Single, 1, area)
                };
                for (&tile, region) in tiles.iter().zip(sub) {
                    slots.push(TileSlot::fit(
                        tile,
                        region,
                        tile_fonts(region, monitors[mon_index], req.text_scale),
                    ));
                }
            }
        }
    }
    Arrangement {
        screen,
        slots,
        footers,
        caption: None,
    }
}

/// How many tiles each monitor gets, in placement order.
fn wall_assignment(kind: LayoutKind, tiles: usize, wall: WallGrid) -> Vec<usize> {
    let monitors = wall.monitors().max(1);
    match kind {
        LayoutKind::Single => vec![tiles.min(1)],
        LayoutKind::Focus if monitors > 1 && tiles > 1 => {
            let rest = tiles - 1;
            let others = monitors - 1;
            let mut v = vec![1];
            v.extend((0..others).map(|i| rest / others + usize::from(i < rest % others)));
            v
        }
        _ => (0..monitors)
            .map(|i| tiles / monitors + usize::from(i < tiles % monitors))
            .collect(),
    }
}

/// Which monitor the `m`-th group of tiles goes to.
fn monitor_for(kind: LayoutKind, m: usize, wall: WallGrid) -> usize {
    if kind == LayoutKind::Single {
        // The single map goes on the top-centre monitor, where eyes rest.
        ((wall.columns as usize).saturating_sub(1)) / 2
    } else {
        m.min(wall.monitors().saturating_sub(1))
    }
}

/// `count` regions in a grid as close to square as fits `area`'s aspect.
fn near_square_regions(count: usize, area: Rect) -> Vec<Rect> {
    let n = count.max(1) as i32;
    let mut best = (1, n, 0.0f32);
    for cols in 1..=n {
        let rows = (n + cols - 1) / cols;
        let side = (area.w / cols).min(area.h / rows) as f32;
        if side > best.2 {
            best = (cols, rows, side);
        }
    }
    let (cols, rows, _) = best;
    (0..n)
        .map(|i| area.cell(i % cols, i / cols, cols, rows))
        .collect()
}

/// Presenter mode: the focus map as large as the height allows on the left,
/// the caption and legend in the column to its right.
fn presenter(req: &ArrangeRequest, screen: Rect, focus: usize) -> Arrangement {
    let mon = match req.wall {
        Some(w) => w.monitor(screen, ((w.columns as usize).saturating_sub(1)) / 2),
        None => screen,
    };
    let font = (mon.h as f32 / 40.0 * req.text_scale.factor()).clamp(10.0, 72.0);
    let margin = (font * 1.5) as i32;
    let inner = mon.inset(margin);
    // The map region is square-ish: as wide as it is high, at most 62% wide.
    let map_w = inner.h.min(inner.w * 62 / 100);
    let region = Rect::new(inner.x, inner.y, map_w, inner.h);
    let mut slot = TileSlot::fit(focus, region, (font * 0.7, font * 1.2));
    // Keep the map flush left in its region so the caption column is wide.
    let shift = slot.map.x - (region.x + slot.metrics.label_w + slot.metrics.tick);
    slot.map.x -= shift;
    let right = Rect::new(
        region.right() + margin,
        inner.y + slot.metrics.title_h + slot.metrics.label_h,
        inner.right() - region.right() - margin,
        inner.h - slot.metrics.title_h - slot.metrics.label_h,
    );
    let footer_h = (font * 2.6) as i32;
    let caption = Rect::new(right.x, right.y, right.w, right.h - footer_h);
    let footer = Footer {
        area: Rect::new(right.x, right.bottom() - footer_h, right.w, footer_h),
        font_px: font * 0.7,
        status: false,
        two_lines: false,
    };
    Arrangement {
        screen,
        slots: if req.tiles == 0 { Vec::new() } else { vec![slot] },
        footers: vec![footer],
        caption: Some(caption),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: LayoutKind, tiles: usize) -> ArrangeRequest {
        ArrangeRequest {
            kind,
            tiles,
            focus: 0,
            presenter: false,
            wall: None,
            text_scale: TextScale::default(),
        }
    }

    fn assert_disjoint(a: &Arrangement) {
        for (i, s) in a.slots.iter().enumerate() {
            assert!(a.screen.encloses(&s.region), "{s:?} off screen");
            assert!(s.region.encloses(&s.map), "map outside region: {s:?}");
            for t in &a.slots[i + 1..] {
                assert!(!s.region.overlaps(&t.region), "{s:?} overlaps {t:?}");
            }
            for f in &a.footers {
                assert!(!s.region.overlaps(&f.area), "{s:?} overlaps footer");
            }
        }
    }

    /// Issue #21: the maps take the screen (they were 256 px, 19 % of it),
    /// each cell a whole number of pixels, under titles about 3 % of the
    /// screen height.
    #[test]
    fn six_maps_at_1080p_fill_the_screen_in_both_grids() {
        for kind in [LayoutKind::Grid3x2, LayoutKind::Grid2x3] {
            let a = arrange(&req(kind, 6), 1920, 1080);
            assert_eq!(a.slots.len(), 6);
            assert_disjoint(&a);
            for s in &a.slots {
                assert!(s.map.w >= 256, "{kind}: {s:?}");
                assert_eq!(s.map.w, s.map.h);
                assert!((s.metrics.title_px - 32.4).abs() < 1.0, "{kind}: {s:?}");
            }
        }
        let a = arrange(&req(LayoutKind::Grid3x2, 6), 1920, 1080);
        let area: i32 = a.slots.iter().map(|s| s.map.w * s.map.h).sum();
        assert!(area * 100 / (1920 * 1080) >= 45, "{area}");
        assert!(a.slots.iter().all(|s| s.map.w > 400), "{:?}", a.slots[0]);
    }

    #[test]
    fn six_maps_at_4k_get_at_least_three_pixels_per_cell() {
        let a = arrange(&req(LayoutKind::Grid3x2, 6), 3840, 2160);
        assert_disjoint(&a);
        for s in &a.slots {
            assert!(s.map.w >= 768, "{s:?}");
        }
    }

    #[test]
    fn a_side_is_a_multiple_of_256_where_that_costs_little() {
        assert_eq!(crisp_side(800), 768);
        assert_eq!(crisp_side(530), 512);
        assert_eq!(crisp_side(440), 440);
        assert_eq!(crisp_side(900), 900);
        assert_eq!(crisp_side(242), 242);
        assert_eq!(crisp_side(-5), 0);
    }

    #[test]
    fn text_scale_grows_titles_and_is_bounded() {
        let mut r = req(LayoutKind::Grid3x2, 6);
        r.text_scale = TextScale(1.5);
        let big = arrange(&r, 3840, 2160);
        let normal = arrange(&req(LayoutKind::Grid3x2, 6), 3840, 2160);
        assert!(big.slots[0].metrics.title_px > normal.slots[0].metrics.title_px * 1.4);
        assert!(big.slots[0].map.w < normal.slots[0].map.w);
        assert_disjoint(&big);
        assert_eq!("1.5".parse::<TextScale>(), Ok(TextScale(1.5)));
        for bad in ["0", "4", "x", "NaN"] {
            assert!(bad.parse::<TextScale>().is_err(), "{bad}");
        }
        assert_eq!(TextScale(f32::NAN).factor(), 1.0);
    }

    #[test]
    fn grid_3x2_is_three_columns_two_rows_in_order() {
        let a = arrange(&req(LayoutKind::Grid3x2, 6), 1920, 1080);
        let xs: Vec<i32> = a.slots.iter().map(|s| s.region.x).collect();
        let ys: Vec<i32> = a.slots.iter().map(|s| s.region.y).collect();
        assert_eq!(xs, [0, 640, 1280, 0, 640, 1280]);
        assert_eq!(ys[0], ys[2]);
        assert!(ys[3] > ys[0]);
        let b = arrange(&req(LayoutKind::Grid2x3, 6), 1920, 1080);
        let xs: Vec<i32> = b.slots.iter().map(|s| s.region.x).collect();
        assert_eq!(xs, [0, 960, 0, 960, 0, 960]);
    }

    /// Issue #21: four maps in grid-3x2 left two tiles empty.
    #[test]
    fn grids_are_chosen_by_map_count() {
        let shape = |kind, n| {
            let a = arrange(&req(kind, n), 1920, 1080);
            let cols: std::collections::BTreeSet<i32> = a.slots.iter().map(|s| s.region.x).collect();
            let rows: std::collections::BTreeSet<i32> = a.slots.iter().map(|s| s.region.y).collect();
            (cols.len(), rows.len())
        };
        assert_eq!(shape(LayoutKind::Grid3x2, 4), (2, 2));
        assert_eq!(shape(LayoutKind::Grid2x3, 4), (2, 2));
        assert_eq!(shape(LayoutKind::Grid3x2, 6), (3, 2));
        assert_eq!(shape(LayoutKind::Grid2x3, 6), (2, 3));
        assert_eq!(shape(LayoutKind::Grid3x2, 2), (2, 1));
        assert_eq!(shape(LayoutKind::Grid3x2, 7), (3, 3));
        assert_eq!(shape(LayoutKind::Grid3x2, 9), (3, 3));
        for n in 1..=9 {
            for kind in [LayoutKind::Grid3x2, LayoutKind::Grid2x3] {
                let (c, r) = shape(kind, n);
                assert!(c * r - n < c, "{kind} {n}: a whole row empty");
                assert_eq!(c, grid_columns(kind, n));
            }
        }
    }

    #[test]
    fn grid_grows_rows_for_more_maps() {
        let a = arrange(&req(LayoutKind::Grid3x2, 9), 3840, 2160);
        assert_eq!(a.slots.len(), 9);
        assert_disjoint(&a);
        assert_eq!(a.slots[8].region.x, a.slots[2].region.x);
    }

    #[test]
    fn focus_puts_the_focus_map_large_and_five_small() {
        let mut r = req(LayoutKind::Focus, 6);
        r.focus = 4;
        let a = arrange(&r, 1920, 1080);
        assert_disjoint(&a);
        assert_eq!(a.slots.len(), 6);
        assert_eq!(a.slots[0].tile, 4);
        // A 3 x 3 grid: the large tile takes 2 x 2 cells.
        assert_eq!(a.slots[0].region.w, 1280);
        let cols: std::collections::BTreeSet<i32> = a.slots[1..].iter().map(|s| s.region.x).collect();
        assert_eq!(cols.into_iter().collect::<Vec<_>>(), [0, 640, 1280]);
        let big = a.slots[0].map.w;
        for s in &a.slots[1..] {
            assert!(s.map.w * 2 <= big, "{s:?} vs {big}");
            assert_ne!(s.tile, 4);
        }
        let mut tiles: Vec<usize> = a.slots.iter().map(|s| s.tile).collect();
        tiles.sort_unstable();
        assert_eq!(tiles, [0, 1, 2, 3, 4, 5]);
    }

    /// Issue #21: the small tiles of the focus layout wrapped clockwise, so
    /// the bottom row read right to left. They now read as text does: down
    /// the right column, then the bottom row left to right.
    #[test]
    fn focus_small_tiles_read_left_to_right_along_the_bottom() {
        for n in 3..=9 {
            let a = arrange(&req(LayoutKind::Focus, n), 1600, 900);
            let small = &a.slots[1..];
            let big = a.slots[0].region;
            let (right, bottom): (Vec<&TileSlot>, Vec<&TileSlot>) =
                small.iter().partition(|s| s.region.y < big.bottom());
            assert!(
                right.windows(2).all(|p| p[0].region.y < p[1].region.y),
                "{n}: {right:?}"
            );
            assert!(
                bottom.windows(2).all(|p| p[0].region.x < p[1].region.x),
                "{n}: bottom row not left to right: {bottom:?}"
            );
            // The right column comes first, then the bottom row.
            assert_eq!(right.len() + bottom.len(), n - 1);
            let order: Vec<usize> = small.iter().map(|s| s.tile).collect();
            assert_eq!(order, (1..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn single_shows_only_the_focus_map_clamped() {
        let mut r = req(LayoutKind::Single, 3);
        r.focus = 7;
        let a = arrange(&r, 1280, 720);
        assert_eq!(a.slots.len(), 1);
        assert_eq!(a.slots[0].tile, 2);
        assert!(a.slots[0].map.w >= 512);
        assert!(arrange(&req(LayoutKind::Single, 0), 800, 600).slots.is_empty());
    }

    #[test]
    fn wall_grid_keeps_each_map_on_one_monitor() {
        let wall: WallGrid = "3x2".parse().expect("valid");
        for kind in LayoutKind::ALL {
            for tiles in [1, 5, 6, 9] {
                let mut r = req(kind, tiles);
                r.wall = Some(wall);
                let a = arrange(&r, 5760, 2160);
                assert_disjoint(&a);
                let expected = if kind == LayoutKind::Single { 1 } else { tiles };
                assert_eq!(a.slots.len(), expected, "{kind} {tiles}");
                for s in &a.slots {
                    let on_one = (0..6).any(|m| wall.monitor(a.screen, m).encloses(&s.region));
                    assert!(on_one, "{kind} {tiles}: {s:?} straddles a bezel");
                }
                for f in &a.footers {
                    let on_one = (0..6).any(|m| wall.monitor(a.screen, m).encloses(&f.area));
                    assert!(on_one);
                }
                assert_eq!(a.footers.iter().filter(|f| f.status).count(), 1);
            }
        }
        // Six maps on six monitors: one each, cells 3 pixels wide at least.
        let mut r = req(LayoutKind::Grid3x2, 6);
        r.wall = Some(wall);
        let a = arrange(&r, 5760, 2160);
        for (m, s) in a.slots.iter().enumerate() {
            assert!(wall.monitor(a.screen, m).encloses(&s.region));
            assert!(s.map.w >= 768, "{s:?}");
        }
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let mut r = req(LayoutKind::Focus, 6);
        r.wall = Some(WallGrid { columns: 3, rows: 0 });
        assert_eq!(arrange(&r, 1920, 1080).slots.len(), 6);
        for (w, h) in [(0, 0), (1, 1), (64, 64), (100_000, 10)] {
            for kind in LayoutKind::ALL {
                for presenter in [false, true] {
                    let a = arrange(
                        &ArrangeRequest {
                            presenter,
                            ..req(kind, 9)
                        },
                        w,
                        h,
                    );
                    assert!(a.slots.iter().all(|s| s.map.w >= 0 && s.map.w == s.map.h));
                }
            }
        }
    }

    #[test]
    fn parse_names_and_grids() {
        for k in LayoutKind::ALL {
            assert_eq!(k.name().parse::<LayoutKind>(), Ok(k));
        }
        assert_eq!(LayoutKind::Single.next(), LayoutKind::Grid3x2);
        assert!("grid".parse::<LayoutKind>().is_err());
        assert_eq!("3x2".parse::<WallGrid>(), Ok(WallGrid { columns: 3, rows: 2 }));
        for bad in ["3", "0x2", "x", "3x-1", "100x1"] {
            assert!(bad.parse::<WallGrid>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hit_test_matches_cell_rects() {
        let a = arrange(&req(LayoutKind::Grid3x2, 6), 1920, 1080);
        let s = a.slots[4];
        let r = s.cell_rect(37, 200);
        assert_eq!(
            a.hit(r.x, r.y).map(|(t, row, col)| (t.tile, row, col)),
            Some((4, 37, 200))
        );
        assert_eq!(
            a.hit(r.right() - 1, r.bottom() - 1)
                .map(|(_, row, col)| (row, col)),
            Some((37, 200))
        );
        assert_ne!(a.hit(r.right(), r.y).map(|(_, _, c)| c), Some(200));
        assert!(a.hit(s.map.x - 1, s.map.y).is_none());
    }

    #[test]
    fn presenter_has_one_large_map_and_a_caption_beside_it() {
        let mut r = req(LayoutKind::Grid3x2, 6);
        r.presenter = true;
        r.focus = 2;
        let a = arrange(&r, 1920, 1080);
        assert_eq!(a.slots.len(), 1);
        assert_eq!(a.slots[0].tile, 2);
        assert!(a.slots[0].map.w >= 768);
        let cap = a.caption.expect("caption area");
        assert!(cap.x >= a.slots[0].map.right() && cap.w > 400, "{cap:?}");
    }
}
