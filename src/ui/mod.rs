//! The wall window: winit event loop, keys, presenter mode, surface upkeep.
