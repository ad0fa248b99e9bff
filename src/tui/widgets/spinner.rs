//! The busy indicator. Its frame comes from the app's tick counter, so drawing stays a
//! pure function of state.

const FRAMES: [&str; 8] = ["⣾", "⣽", "⣻", "⢿", "⡿", "⣟", "⣯", "⣷"];

pub fn frame(tick: u64) -> &'static str {
    FRAMES[(tick % FRAMES.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_cycle() {
        assert_eq!(super::frame(0), super::frame(8));
        assert_ne!(super::frame(0), super::frame(1));
    }
}
