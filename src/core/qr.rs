//! QR codes drawn with Unicode half blocks, so a phone can scan the device-login URL straight
//! off a terminal (CLI and TUI alike). Two module rows share one text row: `▀`, `▄`, `█`, ` `.
//!
//! Light modules are drawn as blocks and dark ones as blanks (like `qrencode -t UTF8`): on the
//! usual dark terminal background that gives dark modules on a light field, which is what
//! scanners expect; phone scanners also read the inverted code on a light background.

use qrcode::{Color, EcLevel, QrCode};

/// Light border around the code, in modules. The standard asks for 4; 2 scans reliably from a
/// screen and keeps the code within 80x24 for URLs of Keycloak's length.
pub const QUIET_ZONE: usize = 2;

#[derive(Debug, thiserror::Error)]
#[error("the text is too long for a QR code ({0})")]
pub struct QrError(String);

/// The lines of a QR code for `text`, each `modules + 2 * QUIET_ZONE` characters wide.
pub fn half_blocks(text: &str) -> Result<Vec<String>, QrError> {
    // Low error correction keeps the code small; a screen does not get scratched.
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)
        .map_err(|e| QrError(e.to_string()))?;
    Ok(render(&code.to_colors(), code.width()))
}

/// Render a `width` x `width` module grid (row-major) with the quiet zone around it.
fn render(modules: &[Color], width: usize) -> Vec<String> {
    let size = width + 2 * QUIET_ZONE;
    let light = |x: usize, y: usize| -> bool {
        let inside = (QUIET_ZONE..QUIET_ZONE + width).contains(&x)
            && (QUIET_ZONE..QUIET_ZONE + width).contains(&y);
        !inside || modules[(y - QUIET_ZONE) * width + (x - QUIET_ZONE)] == Color::Light
    };
    (0..size)
        .step_by(2)
        .map(|y| {
            (0..size)
                .map(|x| {
                    // Past the last row counts as dark (blank), so an odd height ends cleanly.
                    let bottom = y + 1 < size && light(x, y + 1);
                    match (light(x, y), bottom) {
                        (true, true) => '█',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (false, false) => ' ',
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_square_half_height_lines() {
        let url = "https://ifs.example.com/auth/realms/prod/device?user_code=WDJB-MJHT";
        let lines = half_blocks(url).unwrap();
        let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::L).unwrap();
        let size = code.width() + 2 * QUIET_ZONE;
        assert_eq!(lines.len(), size.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == size));
        // Fits an 80x24 terminal with room for the text around it.
        assert!(size <= 80 && lines.len() <= 24, "{size}x{}", lines.len());
    }

    #[test]
    fn the_quiet_zone_is_light_and_finder_patterns_are_dark() {
        let lines = half_blocks("hello").unwrap();
        assert!(lines[0].chars().all(|c| c == '█'));
        // Row pair 2..4 (first text row inside the zone) starts with the finder's dark edge.
        let row: Vec<char> = lines[1].chars().collect();
        assert_eq!(row[0], '█');
        assert_eq!(row[QUIET_ZONE], ' ');
    }

    #[test]
    fn an_odd_grid_keeps_its_last_row() {
        // 21 modules + 4 = 25 rows: 13 text rows, the last one top halves only.
        let lines = half_blocks("x").unwrap();
        assert_eq!(lines.len(), 13);
        assert!(lines[12].chars().all(|c| c == '▀'));
    }
}
