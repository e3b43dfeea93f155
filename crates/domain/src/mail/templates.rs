//! The messages Groundwork sends, each with a text and an HTML body.

pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message of a greeting, paragraphs, one call to action and a closing line.
fn compose(
    subject: &str,
    greeting: &str,
    paragraphs: &[&str],
    action: (&str, &str),
    note: &str,
) -> Mail {
    let (label, link) = action;
    let mut text = format!("{greeting}\n\n");
    for p in paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
    }
    text.push_str(&format!("{label}: {link}\n\n{note}\n"));

    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\"><p>{}</p>",
        escape(greeting)
    );
    for p in paragraphs {
        html.push_str(&format!("<p>{}</p>", escape(p)));
    }
    html.push_str(&format!(
        "<p><a href=\"{}\">{}</a></p><p style=\"color:#666\">{}</p></body></html>",
        escape(link),
        escape(label),
        escape(note)
    ));
    Mail {
        subject: subject.to_owned(),
        text,
        html,
    }
}

pub fn verify_email(name: &str, link: &str) -> Mail {
    compose(
        "Confirm your email address",
        &format!("Hello {name},"),
        &["Please confirm that this is your email address."],
        ("Confirm your email", link),
        "The link works once and expires in 48 hours. If you did not sign up, ignore this message.",
    )
}

pub fn reset_password(name: &str, link: &str) -> Mail {
    compose(
        "Reset your password",
        &format!("Hello {name},"),
        &["Someone asked to reset the password of your account."],
        ("Choose a new password", link),
        "The link works once and expires in 1 hour. If you did not ask for it, ignore this message: your password stays as it is.",
    )
}

pub fn invitation(
    organization: &str,
    inviter: Option<&str>,
    role: &str,
    link: &str,
    expires: &str,
) -> Mail {
    let who = inviter.unwrap_or("A member");
    let role = role.to_lowercase();
    compose(
        &format!("You are invited to join {organization}"),
        "Hello,",
        &[&format!(
            "{who} invited you to join {organization} as {role}."
        )],
        ("Accept the invitation", link),
        &format!(
            "The link works once and expires on {expires}. If you do not want to join, ignore this message."
        ),
    )
}

pub fn trial_ending(organization: &str, ends: &str, link: &str) -> Mail {
    compose(
        &format!("The trial of {organization} ends on {ends}"),
        "Hello,",
        &[&format!(
            "The trial of {organization} ends on {ends}. Add a payment method to keep your plan."
        )],
        ("Manage billing", link),
        "You receive this as an owner of the organization.",
    )
}

pub fn payment_failed(organization: &str, link: &str) -> Mail {
    compose(
        &format!("A payment for {organization} failed"),
        "Hello,",
        &[&format!(
            "Stripe could not collect the latest payment for {organization}. Update the payment method to keep the plan."
        )],
        ("Manage billing", link),
        "You receive this as an owner or admin of the organization.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_text_carries_the_link() {
        let mail = verify_email("<b>Eve</b>", "https://app.test/verify-email?token=abc");
        assert!(mail.html.contains("&lt;b&gt;Eve"));
        assert!(!mail.html.contains("<b>Eve"));
        assert!(
            mail.text
                .contains("https://app.test/verify-email?token=abc")
        );
    }
}
