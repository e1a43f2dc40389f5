//! The event-loop owner: one `ApplicationHandler` that receives every event,
//! runs the [`Scheduler`], applies key actions and keeps the surface alive.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use winit::application::ApplicationHandler;
use winit::dpi::{PhysicalPosition, PhysicalSize};
use winit::event::{ElementState, MouseButton, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::ModifiersState;
use winit::window::{Fullscreen, Window, WindowId};

use super::keys::{Action, lookup};
use super::scheduler::{Scheduler, Topic};
use super::state::{Effect, WallState};
use super::{
    FeedFrame, FrameFeed, FrameNeeds, Observer, PinRequest, PinSpan, WallEvent, WallOptions, screenshot_name,
};
use crate::render::{FrameInput, Gpu, MapView, ViewState, WallRenderer};

/// How long a notice (e.g. "screenshot saved") stays on screen.
const NOTICE_FOR: Duration = Duration::from_secs(3);
/// How long a key's toast ("scale: auto") stays: long enough to read from
/// across the room, short enough not to linger over the maps.
const TOAST_FOR: Duration = Duration::from_millis(1500);
/// How often to look again while the window cannot be drawn (minimised).
const IDLE_PERIOD: Duration = Duration::from_millis(250);
/// Consecutive lost surfaces after which the whole device is reopened.
const MAX_SURFACE_RETRIES: u32 = 3;

/// Opens the wall window and runs it until the user quits (Q or closing the
/// window). Blocks the calling thread; call it once per process (winit allows
/// one event loop per process). On Linux it may run off the main thread.
///
/// With `SCANWALL_EVENTS=1` in the environment and no observer set, every
/// [`WallEvent`] is printed to standard output as `EVENT {event:?}`, so
/// end-to-end tests (and people debugging a wall) can follow the window.
pub fn run_wall(feed: Box<dyn FrameFeed>, mut options: WallOptions) -> anyhow::Result<()> {
    if options.observer.is_none() && std::env::var("SCANWALL_EVENTS").is_ok_and(|v| v == "1") {
        options.observer = Some(Box::new(|e: &WallEvent| {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            // A closed stdout must not stop the wall.
            let _ = writeln!(out, "EVENT {e:?}");
            let _ = out.flush();
        }));
    }
    let mut builder = EventLoop::builder();
    #[cfg(all(unix, not(target_os = "macos"), not(target_os = "android")))]
    {
        // Tests and embedding callers run the wall on a worker thread; X11
        // and Wayland allow that, winit only asks us to opt in.
        winit::platform::x11::EventLoopBuilderExtX11::with_any_thread(&mut builder, true);
        winit::platform::wayland::EventLoopBuilderExtWayland::with_any_thread(&mut builder, true);
    }
    let event_loop = builder
        .build()
        .map_err(|e| anyhow::anyhow!(no_window_message(&e.to_string(), named_display().as_deref())))?;
    let mut app = WallApp::new(feed, options);
    event_loop
        .run_app(&mut app)
        .context("the window's event loop failed")?;
    match app.fatal.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The display the environment names (`WAYLAND_DISPLAY=wayland-0`,
/// `DISPLAY=:0`), which the error for a window that cannot open quotes.
fn named_display() -> Option<String> {
    ["WAYLAND_DISPLAY", "WAYLAND_SOCKET", "DISPLAY"]
        .iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.is_empty())
                .map(|value| format!("{name}={value}"))
        })
}

/// The one line for a window that could not be opened: winit's reason
/// without the source file and line it carries, which display was tried,
/// and what to do. An operator sees either no display named at all (a
/// service or an SSH session) or a named one that refused (no server there,
/// or no permission to connect).
fn no_window_message(error: &str, display: Option<&str>) -> String {
    // winit writes "os error at FILE.rs:LINE: REASON".
    let reason = error
        .split_once(".rs:")
        .and_then(|(_, rest)| rest.split_once(": "))
        .map_or(error, |(_, reason)| reason)
        .trim_end_matches('.');
    const HEADLESS: &str = "`scanwall snapshot` renders images without one";
    match display {
        None => format!(
            "cannot open a window: no display ({reason}); run it in a desktop session or set DISPLAY, or {HEADLESS}"
        ),
        Some(display) => {
            // X checks a cookie; Wayland's socket lives in the user's runtime directory.
            let access = if display.starts_with("DISPLAY=") {
                "XAUTHORITY"
            } else {
                "XDG_RUNTIME_DIR"
            };
            format!(
                "cannot open a window on {display}: {reason}; check that the display server runs and that this user may connect to it ({access}), or {HEADLESS}"
            )
        }
    }
}

/// The GPU half of the window: dropped and rebuilt when the device is lost.
struct Surface {
    // Field order is drop order: the surface goes before the window it draws on.
    surface: wgpu::Surface<'static>,
    renderer: WallRenderer,
    gpu: Gpu,
    config: wgpu::SurfaceConfiguration,
}

/// Frames per second over the last second or so.
#[derive(Default)]
struct FpsMeter {
    since: Option<Instant>,
    count: u32,
    rate: f64,
}

impl FpsMeter {
    fn tick(&mut self, now: Instant) {
        let since = *self.since.get_or_insert(now);
        self.count += 1;
        let dt = now.duration_since(since).as_secs_f64();
        if dt >= 1.0 {
            self.rate = f64::from(self.count) / dt;
            self.count = 0;
            self.since = Some(now);
        }
    }
}

struct WallApp {
    feed: Box<dyn FrameFeed>,
    options: WallOptions,
    observer: Option<Observer>,
    state: WallState,
    scheduler: Scheduler,
    window: Option<Arc<Window>>,
    surface: Option<Surface>,
    fatal: Option<anyhow::Error>,
    cursor: Option<(f64, f64)>,
    /// A readout pinned by a click: where, and what it covers.
    pinned: Option<(f64, f64, PinSpan)>,
    /// What the feed was last asked about the pinned cells.
    pin_asked: Option<PinRequest>,
    modifiers: ModifiersState,
    occluded: bool,
    frames: u64,
    fps: FpsMeter,
    notice: Option<String>,
    screenshot_pending: bool,
    surface_retries: u32,
    tiles: usize,
    /// The window's size before full-screen, to go back to: without a
    /// window manager nobody else remembers it.
    windowed_size: Option<PhysicalSize<u32>>,
}

/// Picks a surface configuration: a non-sRGB format so the screen matches
/// offscreen snapshots byte for byte, vsync, opaque.
fn surface_config(
    surface: &wgpu::Surface<'_>,
    adapter: &wgpu::Adapter,
    size: PhysicalSize<u32>,
) -> anyhow::Result<wgpu::SurfaceConfiguration> {
    let caps = surface.get_capabilities(adapter);
    let format = [wgpu::TextureFormat::Bgra8Unorm, wgpu::TextureFormat::Rgba8Unorm]
        .into_iter()
        .find(|f| caps.formats.contains(f))
        .or_else(|| caps.formats.iter().copied().find(|f| !f.is_srgb()))
        .or_else(|| caps.formats.first().copied())
        .context("the GPU cannot present to this window (no surface formats)")?;
    let alpha_mode = if caps.alpha_modes.contains(&wgpu::CompositeAlphaMode::Opaque) {
        wgpu::CompositeAlphaMode::Opaque
    } else {
        caps.alpha_modes
            .first()
            .copied()
            .unwrap_or(wgpu::CompositeAlphaMode::Auto)
    };
    // On a software rasteriser, maps shown at one pixel per cell are copied
    // into the frame rather than drawn (see `render::WallRenderer::render`),
    // which needs copies into the surface. A GPU draws them as fast, and its
    // surfaces may lose compression with the extra usage: not asked for there.
    let software = adapter.get_info().device_type == wgpu::DeviceType::Cpu;
    let usage = if software && caps.usages.contains(wgpu::TextureUsages::COPY_DST) {
        wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_DST
    } else {
        wgpu::TextureUsages::RENDER_ATTACHMENT
    };
    Ok(wgpu::SurfaceConfiguration {
        usage,
        format,
        color_space: wgpu::SurfaceColorSpace::Auto,
        width: size.width.max(1),
        height: size.height.max(1),
        present_mode: wgpu::PresentMode::Fifo,
        desired_maximum_frame_latency: 2,
        alpha_mode,
        view_formats: Vec::new(),
    })
}

impl WallApp {
    fn new(feed: Box<dyn FrameFeed>, mut options: WallOptions) -> Self {
        let observer = options.observer.take();
        let state = WallState {
            view: ViewState {
                layout: options.layout,
                wall: options.wall,
                focus: options.focus,
                presenter: options.presenter,
                scale: options.scale,
                map_view: options.map_view,
                order: options.order,
                colours: options.colours,
                text_scale: options.text_scale,
                local: options.local.clone(),
                ..ViewState::default()
            },
            fullscreen: options.fullscreen,
            events_list: false,
        };
        WallApp {
            feed,
            options,
            observer,
            state,
            scheduler: Scheduler::new(),
            window: None,
            surface: None,
            fatal: None,
            cursor: None,
            pinned: None,
            pin_asked: None,
            modifiers: ModifiersState::empty(),
            occluded: false,
            frames: 0,
            fps: FpsMeter::default(),
            notice: None,
            screenshot_pending: false,
            surface_retries: 0,
            tiles: 0,
            windowed_size: None,
        }
    }

    fn emit(&mut self, event: WallEvent) {
        if let Some(o) = self.observer.as_mut() {
            o(&event);
        }
    }

    fn frame_period(&self) -> Duration {
        let fps = if self.options.fps.is_finite() && self.options.fps > 0.0 {
            self.options.fps.min(240.0)
        } else {
            30.0
        };
        Duration::from_secs_f64(1.0 / fps)
    }

    fn monitor(&self, event_loop: &ActiveEventLoop) -> Option<winit::monitor::MonitorHandle> {
        self.options
            .monitor
            .and_then(|n| event_loop.available_monitors().nth(n))
            .or_else(|| event_loop.primary_monitor())
            .or_else(|| event_loop.available_monitors().next())
    }

    fn open_window(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<Arc<Window>> {
        let (w, h) = self.options.size;
        let mut attrs = Window::default_attributes()
            .with_title(self.options.title.clone())
            .with_inner_size(PhysicalSize::new(w.max(64), h.max(64)));
        let monitor = self.monitor(event_loop);
        if self.state.fullscreen {
            // The monitor's place and size too: with no window manager (a
            // kiosk X session) the full-screen request is a hint nobody acts
            // on, and the window would open at its windowed size in a corner.
            if let Some(m) = &monitor {
                let p = m.position();
                attrs = attrs
                    .with_position(PhysicalPosition::new(p.x, p.y))
                    .with_inner_size(m.size());
            }
            attrs = attrs.with_fullscreen(Some(Fullscreen::Borderless(monitor)));
        } else if let (Some(_), Some(m)) = (self.options.monitor, monitor) {
            let p = m.position();
            attrs = attrs.with_position(PhysicalPosition::new(p.x, p.y));
        }
        let window = event_loop
            .create_window(attrs)
            .context("cannot create the wall window")?;
        Ok(Arc::new(window))
    }

    /// Instance, surface, device and renderer for `window`.
    fn open_surface(&self, event_loop: &ActiveEventLoop, window: &Arc<Window>) -> anyhow::Result<Surface> {
        let instance = wgpu::Instance::new(Gpu::window_instance_descriptor(Box::new(
            event_loop.owned_display_handle(),
        )));
        let surface = instance
            .create_surface(window.clone())
            .context("cannot draw into the window")?;
        let gpu = Gpu::for_surface(instance, &surface, self.options.adapter)?;
        let config = surface_config(&surface, &gpu.adapter, window.inner_size())?;
        surface.configure(&gpu.device, &config);
        let renderer = WallRenderer::new(&gpu, config.format);
        Ok(Surface {
            surface,
            renderer,
            gpu,
            config,
        })
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, e: anyhow::Error) {
        self.fatal = Some(e);
        event_loop.exit();
    }

    fn apply(&mut self, event_loop: &ActiveEventLoop, action: Action, digit: Option<usize>) {
        self.emit(WallEvent::Key(action));
        if action == Action::Escape && self.pinned.take().is_some() {
            return;
        }
        let effects = self.state.apply(action, digit, self.tiles);
        let now = Instant::now();
        for effect in effects {
            match effect {
                Effect::Quit => event_loop.exit(),
                Effect::Screenshot => self.screenshot_pending = true,
                Effect::ScaleHalfLife(f) => self.feed.scale_half_life(f),
                Effect::SetFullscreen(on) => {
                    let monitor = self.monitor(event_loop);
                    if let Some(w) = &self.window {
                        if on {
                            self.windowed_size = Some(w.inner_size());
                        }
                        w.set_fullscreen(on.then_some(Fullscreen::Borderless(monitor.clone())));
                        self.fit_to_monitor(w, on, monitor.as_ref());
                    }
                }
                Effect::RestartPresenterTimer => {
                    if let Some(iv) = self.options.present_interval {
                        self.scheduler.schedule(Topic::PresenterAdvance, now + iv);
                    }
                }
                Effect::StopPresenterTimer => self.scheduler.cancel(Topic::PresenterAdvance),
                Effect::Toast(text) => {
                    self.notice = Some(text);
                    self.scheduler.schedule(Topic::NoticeExpiry, now + TOAST_FOR);
                }
            }
        }
        if let Some(w) = &self.window {
            // A blank wall shows no pointer either.
            w.set_cursor_visible(!self.state.view.blank);
            w.request_redraw();
        }
    }

    /// Makes full-screen fill `monitor` (`on`) or gives the window back its
    /// windowed size, whether or not a window manager acts on winit's
    /// full-screen request: without one (a kiosk X session) the window is
    /// moved and sized here, as X does whatever a client asks; with one,
    /// this asks for what the window manager does anyway.
    fn fit_to_monitor(&self, w: &Window, on: bool, monitor: Option<&winit::monitor::MonitorHandle>) {
        if on {
            if let Some(m) = monitor {
                w.set_outer_position(m.position());
                // The answer comes as a Resized event (or now, as Some).
                let _ = w.request_inner_size(m.size());
            }
        } else {
            let (ww, wh) = self.options.size;
            let size = self
                .windowed_size
                .filter(|s| monitor.is_none_or(|m| *s != m.size()))
                .unwrap_or(PhysicalSize::new(ww.max(64), wh.max(64)));
            let _ = w.request_inner_size(size);
        }
    }

    /// Reconfigures the surface for the window's current size.
    fn reconfigure(&mut self) {
        let (Some(window), Some(s)) = (&self.window, &mut self.surface) else {
            return;
        };
        let size = window.inner_size();
        if size.width == 0 || size.height == 0 {
            return;
        }
        s.config.width = size.width;
        s.config.height = size.height;
        s.surface.configure(&s.gpu.device, &s.config);
    }

    /// Makes a new surface on the same device after the old one was lost;
    /// after repeated failures, or if the device itself is gone, reopens all.
    fn recover(&mut self, event_loop: &ActiveEventLoop) {
        self.surface_retries += 1;
        let Some(window) = self.window.clone() else {
            return;
        };
        let device_gone = self.surface.as_ref().is_none_or(|s| s.gpu.is_lost());
        if !device_gone
            && self.surface_retries <= MAX_SURFACE_RETRIES
            && let Some(s) = &mut self.surface
        {
            match s.gpu.instance.create_surface(window.clone()) {
                Ok(surface) => {
                    s.surface = surface;
                    s.surface.configure(&s.gpu.device, &s.config);
                    return;
                }
                Err(e) => self.emit(WallEvent::Problem(format!("surface lost: {e}"))),
            }
        }
        self.surface = None;
        match self.open_surface(event_loop, &window) {
            Ok(s) => {
                self.surface = Some(s);
                self.surface_retries = 0;
                self.emit(WallEvent::Problem("GPU device reopened".into()));
            }
            Err(e) => self.fail(event_loop, e.context("the GPU was lost and cannot be reopened")),
        }
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) {
        if self.occluded {
            return;
        }
        if self.surface.as_ref().is_some_and(|s| s.gpu.is_lost()) {
            self.recover(event_loop);
            return;
        }
        let Some(window) = self.window.clone() else {
            return;
        };
        let size = window.inner_size();
        if size.width == 0 || size.height == 0 {
            return;
        }
        let Some(s) = self.surface.as_mut() else {
            return;
        };
        if (size.width, size.height) != (s.config.width, s.config.height) {
            s.config.width = size.width;
            s.config.height = size.height;
            s.surface.configure(&s.gpu.device, &s.config);
        }
        let (texture, suboptimal) = match s.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t) => (t, false),
            // Draw this one, then configure afresh for the next.
            wgpu::CurrentSurfaceTexture::Suboptimal(t) => (t, true),
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => return,
            wgpu::CurrentSurfaceTexture::Outdated => {
                self.reconfigure();
                window.request_redraw();
                return;
            }
            wgpu::CurrentSurfaceTexture::Lost => {
                self.recover(event_loop);
                return;
            }
            wgpu::CurrentSurfaceTexture::Validation => {
                self.emit(WallEvent::Problem("surface validation error".into()));
                self.reconfigure();
                return;
            }
        };
        self.surface_retries = 0;
        let (w, h) = (s.config.width, s.config.height);
        let frame_started = Instant::now();
        let FeedFrame {
            tiles,
            mut status,
            rate_per_value,
            events,
            pinned,
        } = self.feed.frame(
            self.state.view.frozen,
            FrameNeeds {
                scale: self.state.view.scale,
                baselines: self.state.view.map_view == MapView::Change || self.cursor.is_some(),
                events_list: self.state.events_list,
            },
        );
        self.tiles = tiles.len();
        let mut view = self.state.view.clone();
        view.notice = self.notice.clone();
        view.events = events;
        if !self.state.events_list {
            view.events.list = None;
        }
        let pin_request = self
            .pinned
            .and_then(|(x, y, span)| crate::display::hover::pin_request(&view, &tiles, (w, h), x, y, span));
        view.hover = match self.pinned {
            Some((x, y, _)) => {
                crate::display::hover::hover_readout(&view, &tiles, rate_per_value, (w, h), x, y).map(
                    |mut h| {
                        h.text.push_str("\npinned (click again or Esc to unpin)");
                        for line in &pinned {
                            h.text.push('\n');
                            h.text.push_str(line);
                        }
                        h
                    },
                )
            }
            None => self.cursor.and_then(|(x, y)| {
                crate::display::hover::hover_readout(&view, &tiles, rate_per_value, (w, h), x, y)
            }),
        };
        status.frames_per_sec = self.fps.rate;
        let frame = FrameInput { tiles, status, view };
        let target = texture
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        let drawn = s.renderer.render(&s.gpu, &frame, &target, w, h);
        let cpu = frame_started.elapsed();
        window.pre_present_notify();
        s.gpu.queue.present(texture);
        if suboptimal {
            s.surface.configure(&s.gpu.device, &s.config);
        }
        let mut events = Vec::new();
        if let Err(e) = drawn {
            events.push(WallEvent::Problem(format!("frame not drawn: {e}")));
        }
        if self.screenshot_pending {
            self.screenshot_pending = false;
            let mut shot = frame.clone();
            shot.view.notice = None;
            shot.view.hover = None;
            let name = screenshot_name(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            );
            let path = self.options.screenshot_dir.join(name);
            let saved = s
                .renderer
                .render_to_image(&s.gpu, &shot, w, h)
                .and_then(|img| img.write_png(&path));
            match saved {
                Ok(()) => {
                    self.notice = Some(format!("screenshot saved: {}", path.display()));
                    self.scheduler
                        .schedule(Topic::NoticeExpiry, Instant::now() + NOTICE_FOR);
                    events.push(WallEvent::Screenshot(path));
                }
                Err(e) => {
                    let why = super::screenshot_failure(&self.options.screenshot_dir, &e);
                    self.notice = Some(why.clone());
                    self.scheduler
                        .schedule(Topic::NoticeExpiry, Instant::now() + NOTICE_FOR);
                    events.push(WallEvent::Problem(format!(
                        "{why}; give --screenshot-dir a folder this user may write to"
                    )));
                }
            }
        }
        self.frames += 1;
        self.fps.tick(Instant::now());
        if self.frames == 1 {
            events.push(WallEvent::Ready {
                width: w,
                height: h,
                adapter: s.gpu.describe(),
                format: format!("{:?}", s.config.format),
            });
        }
        let v = &frame.view;
        events.push(WallEvent::Presented {
            frame: self.frames,
            width: w,
            height: h,
            layout: v.layout,
            focus: v.focus.min(self.tiles.saturating_sub(1)),
            presenter: v.presenter,
            blank: v.blank,
            help: !v.help.is_empty(),
        });
        drop(frame);
        self.feed.frame_drawn(cpu);
        if pin_request != self.pin_asked {
            self.pin_asked = pin_request;
            self.feed.pin(pin_request);
        }
        for e in events {
            self.emit(e);
        }
    }
}

impl ApplicationHandler for WallApp {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.window.is_none() {
            match self.open_window(event_loop) {
                Ok(w) => self.window = Some(w),
                Err(e) => return self.fail(event_loop, e),
            }
        }
        if self.surface.is_none() {
            let Some(window) = self.window.clone() else {
                return;
            };
            match self.open_surface(event_loop, &window) {
                Ok(s) => self.surface = Some(s),
                Err(e) => return self.fail(event_loop, e),
            }
        }
        let now = Instant::now();
        self.scheduler.schedule(Topic::Frame, now);
        if self.state.view.presenter
            && let Some(iv) = self.options.present_interval
        {
            self.scheduler.schedule(Topic::PresenterAdvance, now + iv);
        }
    }

    fn suspended(&mut self, _event_loop: &ActiveEventLoop) {
        // Some platforms take the surface away while suspended.
        self.surface = None;
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(_) | WindowEvent::ScaleFactorChanged { .. } => {
                self.reconfigure();
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
            }
            WindowEvent::Occluded(hidden) => self.occluded = hidden,
            WindowEvent::ModifiersChanged(m) => self.modifiers = m.state(),
            WindowEvent::KeyboardInput { event, .. } => {
                if event.state != ElementState::Pressed {
                    return;
                }
                let m = self.modifiers;
                if m.control_key() || m.alt_key() || m.super_key() {
                    return;
                }
                if let Some((action, digit)) = lookup(&event.logical_key) {
                    let repeatable = matches!(
                        action,
                        Action::MoveFocus(_) | Action::NextMap | Action::PreviousMap
                    );
                    if event.repeat && !repeatable {
                        return;
                    }
                    self.apply(event_loop, action, digit);
                }
            }
            WindowEvent::CursorMoved { position, .. } => {
                self.cursor = Some((position.x, position.y));
            }
            WindowEvent::CursorLeft { .. } => self.cursor = None,
            WindowEvent::MouseInput {
                state: ElementState::Pressed,
                button: MouseButton::Left,
                ..
            } => {
                // A click pins the readout where it is (Shift: the row, Ctrl:
                // the column); a click on the pinned spot, or off the maps,
                // unpins it.
                let span = if self.modifiers.shift_key() {
                    PinSpan::Row
                } else if self.modifiers.control_key() {
                    PinSpan::Column
                } else {
                    PinSpan::Cell
                };
                self.pinned = match (self.cursor, self.pinned) {
                    (Some((x, y)), Some((px, py, s)))
                        if s == span && (x - px).abs() < 1.0 && (y - py).abs() < 1.0 =>
                    {
                        None
                    }
                    (Some((x, y)), _) => Some((x, y, span)),
                    (None, _) => None,
                };
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
            }
            WindowEvent::RedrawRequested => self.redraw(event_loop),
            _ => {}
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        if self.surface.is_none() && self.window.is_some() && self.fatal.is_none() {
            // Suspended and resumed, or lost: try again.
            self.recover(event_loop);
        }
        let now = Instant::now();
        for topic in self.scheduler.take_due(now) {
            match topic {
                Topic::Frame => {
                    let period = if self.occluded {
                        IDLE_PERIOD
                    } else {
                        self.frame_period()
                    };
                    self.scheduler.schedule(Topic::Frame, now + period);
                    if let Some(w) = &self.window {
                        w.request_redraw();
                    }
                }
                Topic::PresenterAdvance => {
                    if self.state.view.presenter {
                        self.state.advance_presenter(self.tiles);
                        if let Some(iv) = self.options.present_interval {
                            self.scheduler.schedule(Topic::PresenterAdvance, now + iv);
                        }
                    }
                }
                Topic::NoticeExpiry => self.notice = None,
            }
        }
        match self.scheduler.next_deadline() {
            Some(at) => event_loop.set_control_flow(ControlFlow::WaitUntil(at)),
            None => event_loop.set_control_flow(ControlFlow::Wait),
        }
    }

    fn exiting(&mut self, _event_loop: &ActiveEventLoop) {
        // Surface before window.
        self.surface = None;
        self.window = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// winit's two errors seen on Linux, as it writes them.
    #[test]
    fn a_window_that_cannot_open_says_why_without_winits_source_line() {
        let unset = "os error at /root/.cargo/registry/src/x/winit-0.30.13/src/platform_impl/linux/mod.rs:765: \
                     neither WAYLAND_DISPLAY nor WAYLAND_SOCKET nor DISPLAY is set.";
        let m = no_window_message(unset, None);
        assert!(
            m.starts_with("cannot open a window: no display (neither WAYLAND_DISPLAY"),
            "{m}"
        );
        assert!(
            m.contains("set DISPLAY") && m.contains("scanwall snapshot"),
            "{m}"
        );
        assert!(!m.contains(".rs") && !m.contains("os error"), "{m}");
        let refused = "os error at /x/winit-0.30.13/src/platform_impl/linux/mod.rs:788: Failed to open connection to X server";
        let m = no_window_message(refused, Some("DISPLAY=:55"));
        assert!(
            m.starts_with("cannot open a window on DISPLAY=:55: Failed to open connection to X server;"),
            "{m}"
        );
        assert!(m.contains("XAUTHORITY") && !m.contains(".rs"), "{m}");
        let m = no_window_message("Connection refused", Some("WAYLAND_DISPLAY=wayland-1"));
        assert!(
            m.contains("on WAYLAND_DISPLAY=wayland-1: Connection refused;"),
            "{m}"
        );
        assert!(m.contains("XDG_RUNTIME_DIR") && !m.contains("XAUTHORITY"), "{m}");
        // Another wording is passed on whole.
        assert!(no_window_message("no luck", None).contains("(no luck)"));
    }
}
