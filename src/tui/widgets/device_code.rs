//! What a person needs to approve a device login on their phone: the verification URI,
//! the user code in large, spaced letters, and a QR code of the URI (with the code in it
//! when the provider sends the complete URI). The QR is drawn only where it fits whole: a
//! cut QR code does not scan, so a small window gets the URI and code and a note instead.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use crate::core::login::DevicePrompt;
use crate::tui::theme::Theme;

/// The prompt with its QR code, built once when the prompt arrives (not every frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode {
    pub uri: String,
    pub user_code: String,
    /// Whether the QR code's URI carries the user code (no typing needed after a scan).
    pub qr_has_code: bool,
    /// The QR rows, or why there is none.
    pub qr: Result<Vec<String>, String>,
}

/// Columns the text beside the QR code needs at least.
const TEXT_MIN_WIDTH: u16 = 36;

impl DeviceCode {
    pub fn new(prompt: &DevicePrompt) -> Self {
        let qr_uri = prompt
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&prompt.verification_uri);
        Self {
            uri: prompt.verification_uri.clone(),
            user_code: prompt.user_code.clone(),
            qr_has_code: prompt.verification_uri_complete.is_some(),
            qr: crate::core::qr::half_blocks(qr_uri).map_err(|e| e.to_string()),
        }
    }

    /// The QR's width and height in cells.
    fn qr_size(&self) -> Option<(u16, u16)> {
        let rows = self.qr.as_ref().ok()?;
        let width = rows.first().map_or(0, |r| r.chars().count());
        Some((width as u16, rows.len() as u16))
    }

    /// Where the QR code goes in `area`, if it fits whole next to the text.
    pub fn qr_area(&self, area: Rect) -> Option<Rect> {
        let (width, height) = self.qr_size()?;
        let fits = height <= area.height && width + 1 + TEXT_MIN_WIDTH <= area.width;
        fits.then(|| Rect {
            x: area.right() - width,
            y: area.y,
            width,
            height,
        })
    }

    /// Draw into `area`; `below` are lines to show under the code (steps, countdown).
    pub fn draw(
        &self,
        frame: &mut Frame<'_>,
        area: Rect,
        below: Vec<Line<'static>>,
        theme: &Theme,
    ) {
        let qr_area = self.qr_area(area);
        let text_area = match qr_area {
            Some(qr) => Rect {
                width: qr.x.saturating_sub(area.x + 1),
                ..area
            },
            None => area,
        };
        let [intro, code, rest] = Layout::vertical([
            Constraint::Length(self.intro_lines(text_area.width, theme).len() as u16),
            Constraint::Length(3),
            Constraint::Fill(1),
        ])
        .areas(text_area);
        frame.render_widget(
            Paragraph::new(self.intro_lines(text_area.width, theme)),
            intro,
        );
        self.draw_code(frame, code, theme);
        let mut lines = self.qr_lines(qr_area.is_some(), theme);
        lines.extend(below);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rest);
        if let (Some(qr), Ok(rows)) = (qr_area, &self.qr) {
            // Plain style: the code's contrast must come from the blocks, not from colours.
            let lines: Vec<Line> = rows.iter().map(|r| Line::raw(r.clone())).collect();
            frame.render_widget(Paragraph::new(lines).style(Style::default()), qr);
        }
    }

    /// The URI is cut into indented rows by hand: it has no spaces to wrap at, and a
    /// row that starts at the edge looks like a new paragraph.
    fn intro_lines(&self, width: u16, theme: &Theme) -> Vec<Line<'static>> {
        let row = usize::from(width).saturating_sub(1).max(10);
        let chars: Vec<char> = self.uri.chars().collect();
        let mut lines = vec![Line::styled(
            " On your phone or any computer, open:",
            theme.label,
        )];
        lines.extend(chars.chunks(row).map(|chunk| {
            Line::styled(
                format!(" {}", chunk.iter().collect::<String>()),
                theme.highlight,
            )
        }));
        lines.push(Line::styled(" and enter this code:", theme.label));
        lines
    }

    /// The code in a box, letters spaced so it reads across a room ("W D J B - M J H T").
    fn draw_code(&self, frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let spaced = spaced(&self.user_code);
        let width = (spaced.chars().count() as u16 + 4).min(area.width.saturating_sub(1));
        let rect = Rect {
            x: area.x + 1,
            width,
            ..area
        };
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(theme.focused_border);
        frame.render_widget(
            Paragraph::new(Line::styled(spaced, theme.title))
                .centered()
                .block(block),
            rect,
        );
    }

    fn qr_lines(&self, qr_shown: bool, theme: &Theme) -> Vec<Line<'static>> {
        let text = match (&self.qr, qr_shown) {
            (Err(why), _) => format!(" No QR code: {why}."),
            (Ok(_), false) => {
                " The window is too small for the QR code; enlarge it to scan one.".into()
            }
            (Ok(_), true) if self.qr_has_code => {
                " Or scan the QR code: it carries the code.".into()
            }
            (Ok(_), true) => " Or scan the QR code to open the page.".into(),
        };
        vec![Line::from(Span::styled(text, theme.muted))]
    }
}

/// "WDJB-MJHT" → "W D J B - M J H T".
fn spaced(code: &str) -> String {
    code.chars().map(String::from).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(complete: bool) -> DevicePrompt {
        let uri = "https://ifs.example.com/auth/realms/prod/device".to_owned();
        DevicePrompt {
            verification_uri_complete: complete.then(|| format!("{uri}?user_code=WDJB-MJHT")),
            verification_uri: uri,
            user_code: "WDJB-MJHT".into(),
            expires_in: 600,
        }
    }

    #[test]
    fn the_qr_fits_80x24_and_is_left_out_whole_when_it_cannot() {
        let code = DeviceCode::new(&prompt(true));
        assert!(code.qr_has_code);
        // The test-login body at 80x24: 80 wide, 20 rows under the header.
        let body = Rect::new(0, 3, 80, 20);
        let qr = code.qr_area(body).expect("fits at 80x24");
        assert_eq!(qr.right(), body.right());
        assert!(qr.height <= body.height);
        assert_eq!(code.qr_area(Rect::new(0, 0, 60, 20)), None, "too narrow");
        assert_eq!(code.qr_area(Rect::new(0, 0, 80, 10)), None, "too short");
    }

    #[test]
    fn without_a_complete_uri_the_qr_opens_the_page() {
        let code = DeviceCode::new(&prompt(false));
        assert!(!code.qr_has_code);
        assert!(code.qr.is_ok());
    }

    #[test]
    fn codes_are_spaced_out() {
        assert_eq!(spaced("WDJB-MJHT"), "W D J B - M J H T");
    }
}
