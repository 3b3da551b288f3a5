//! The text of each message: pure functions of the link and the account,
//! so every rule about them (the link, the username, never a password) is
//! unit-tested.

/// A message ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// "24 hours", "1 hour", "30 minutes": how long a link lives, for people.
fn lifetime(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs >= 3_600 && secs % 3_600 == 0 {
        plural(secs / 3_600, "hour")
    } else if secs >= 60 {
        plural((secs + 59) / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

/// The message that proves an address: `{APP_URL}/verify-email?token=…`.
pub fn verification(app_url: &str, token: &str, username: &str, ttl_secs: i64) -> Rendered {
    Rendered {
        subject: "Confirm your email address".to_owned(),
        body: format!(
            "Hello {username},\n\
             \n\
             Please confirm that this address belongs to your account by opening\n\
             this link:\n\
             \n\
             {app_url}/verify-email?token={token}\n\
             \n\
             The link works once, for {}. If you did not ask for this, you can\n\
             ignore this message: the address stays unconfirmed.\n",
            lifetime(ttl_secs)
        ),
    }
}

/// The message that lets a user choose a new password:
/// `{APP_URL}/reset-password?token=…`. It names the account, since one
/// address may belong to several.
pub fn reset(app_url: &str, token: &str, username: &str, ttl_secs: i64) -> Rendered {
    Rendered {
        subject: format!("Reset the password of {username}"),
        body: format!(
            "Hello {username},\n\
             \n\
             Someone asked to reset the password of the account \"{username}\".\n\
             To choose a new password, open this link:\n\
             \n\
             {app_url}/reset-password?token={token}\n\
             \n\
             The link works once, for {}. Using it ends every session of the\n\
             account. If you did not ask for this, ignore this message: your\n\
             password stays as it is.\n",
            lifetime(ttl_secs)
        ),
    }
}

/// Whom a sign-in by email is for: the account holding the address, or
/// nobody yet (the message offers a new account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFor<'a> {
    Account { username: &'a str },
    NewAccount,
}

/// The message of a sign-in by email: `{APP_URL}/login/email?token=…` and
/// a 6-digit code, both for one request. The code ends the subject line,
/// where a phone's notification shows it, and opens the body. No password
/// is named: the reader may never have had one.
pub fn sign_in(
    app_url: &str,
    token: &str,
    code: &str,
    to: SignInFor<'_>,
    ttl_secs: i64,
) -> Rendered {
    let link = format!("{app_url}/login/email?token={token}");
    let life = lifetime(ttl_secs);
    let (word, hello, what, otherwise) = match to {
        SignInFor::Account { username } => (
            "sign-in",
            format!("Hello {username},"),
            format!(
                "Someone asked to sign in to the account \"{username}\" with this\n\
                 address. To sign in, open this link and confirm:"
            ),
            "nobody can sign in without it.",
        ),
        SignInFor::NewAccount => (
            "sign-up",
            "Hello,".to_owned(),
            "Someone asked to sign in with this address, which no account has\n\
             confirmed yet. To create an account for it and sign in, open this\n\
             link and confirm:"
                .to_owned(),
            "no account is made without it.",
        ),
    };
    Rendered {
        subject: format!("Your {word} code is {code}"),
        body: format!(
            "Your {word} code is {code}\n\
             \n\
             {hello}\n\
             \n\
             {what}\n\
             \n\
             {link}\n\
             \n\
             or type the code above where you asked. The link and the code work\n\
             once, in any browser, for {life}. If you did not ask for this,\n\
             ignore this message: {otherwise}\n"
        ),
    }
}

/// A change to an account that its owner is told of, at the verified
/// address (for an address change, the old one): if it was not them, they
/// learn of it while they can still act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    PasswordChanged,
    PasswordReset,
    EmailChanged,
    /// The account's authenticator app (and recovery codes) or passkeys
    /// were removed, by its owner or an admin.
    SecondFactorOff,
    /// A passkey was added: it signs in without the password.
    PasskeyAdded,
    /// The owner linked a sign-in with another provider.
    IdentityLinked,
    /// A provider that vouched for the account's verified address signed
    /// in to it, linking itself; the account's other sessions ended.
    IdentityJoined,
}

/// A notice's text. It carries no link: nothing in it signs anyone in or
/// changes anything, so a copy in the wrong hands is worth nothing.
pub fn notice(kind: Notice, username: &str) -> Rendered {
    let (subject, what) = match kind {
        Notice::PasswordChanged => (
            "Your password was changed",
            "The password of your account was changed, and every other session\n\
             of it was ended.",
        ),
        Notice::PasswordReset => (
            "Your password was reset",
            "The password of your account was reset through an emailed link, and\n\
             every session of it was ended.",
        ),
        Notice::EmailChanged => (
            "Your email address was changed",
            "The email address of your account was changed: messages about it,\n\
             password resets included, now go to the new address, not this one.",
        ),
        Notice::SecondFactorOff => (
            "Two-step sign-in was turned off",
            "The second sign-in step of your account was removed: signing in\n\
             now takes the password alone (or a passkey, if one is left).",
        ),
        Notice::PasskeyAdded => (
            "A passkey was added",
            "A passkey was added to your account: it signs in to it without\n\
             the password.",
        ),
        Notice::IdentityLinked => (
            "A sign-in provider was linked",
            "A sign-in with another provider was linked to your account: it\n\
             signs in to it without the password. Your account's security\n\
             page lists the providers linked.",
        ),
        Notice::IdentityJoined => (
            "A sign-in provider signed in to your account",
            "A sign-in with another provider that vouches for this address was\n\
             linked to your account and signed in to it, and every other\n\
             session of your account was ended.",
        ),
    };
    Rendered {
        subject: format!("{subject} ({username})"),
        body: format!(
            "Hello {username},\n\
             \n\
             {what}\n\
             \n\
             If that was you, there is nothing to do. If it was not, someone\n\
             else can sign in to your account: reset your password at once from\n\
             the sign-in page, and contact the site's operator.\n"
        ),
    }
}

/// The HTML alternative of a message's text: each paragraph a `<p>`, each
/// line that is a link a clickable `<a>`, everything escaped. Made from
/// the text, so the two parts can never say different things.
pub fn html_of(text: &str) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif; line-height: 1.5\">\n",
    );
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let lines: Vec<String> = paragraph
            .lines()
            .map(|line| {
                let escaped = escape(line);
                if line.starts_with("http://") || line.starts_with("https://") {
                    format!("<a href=\"{escaped}\">{escaped}</a>")
                } else {
                    escaped
                }
            })
            .collect();
        html.push_str("<p>");
        html.push_str(&lines.join("<br>\n"));
        html.push_str("</p>\n");
    }
    html.push_str("</body></html>\n");
    html
}

/// `text` escaped for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_names_the_account_and_links_nowhere() {
        for kind in [
            Notice::PasswordChanged,
            Notice::PasswordReset,
            Notice::EmailChanged,
            Notice::SecondFactorOff,
            Notice::PasskeyAdded,
            Notice::IdentityLinked,
            Notice::IdentityJoined,
        ] {
            let m = notice(kind, "Bob");
            assert!(m.subject.contains("(Bob)"), "{m:?}");
            assert!(m.body.starts_with("Hello Bob,"), "{m:?}");
            assert!(
                !m.body.contains("http") && !m.body.contains("token"),
                "{m:?}"
            );
            assert!(!html_of(&m.body).contains("<a "), "{m:?}");
        }
        assert_ne!(
            notice(Notice::PasswordChanged, "Bob").subject,
            notice(Notice::EmailChanged, "Bob").subject
        );
    }

    #[test]
    fn the_html_part_links_the_link_and_escapes_the_rest() {
        let m = reset("https://app.example.com", "a-b_c", "Bob", 3_600);
        let html = html_of(&m.body);
        assert!(html.contains(
            "<a href=\"https://app.example.com/reset-password?token=a-b_c\">https://app.example.com/reset-password?token=a-b_c</a>"
        ));
        assert!(html.contains("&quot;Bob&quot;"));
        assert!(html_of("x <script>&").contains("x &lt;script&gt;&amp;"));
    }

    #[test]
    fn the_verification_message_carries_its_link() {
        let m = verification("https://app.example.com", "tok-_123", "Alice", 86_400);
        assert!(m
            .body
            .contains("\nhttps://app.example.com/verify-email?token=tok-_123\n"));
        assert!(m.body.contains("24 hours"));
        assert!(m.body.is_ascii());
    }

    #[test]
    fn the_reset_message_names_the_account_and_carries_its_link() {
        let m = reset("http://localhost:5173", "abc", "Bob_1", 3_600);
        assert!(m.subject.contains("Bob_1"));
        assert!(m.body.contains("\"Bob_1\""));
        assert!(m
            .body
            .contains("\nhttp://localhost:5173/reset-password?token=abc\n"));
        assert!(m.body.contains("for 1 hour."));
    }

    #[test]
    fn a_sign_in_message_carries_its_link_and_its_code_up_front_and_names_no_password() {
        let account = SignInFor::Account { username: "Ann" };
        for to in [account, SignInFor::NewAccount] {
            let m = sign_in("https://app.example.com", "t-_1", "042917", to, 900);
            assert!(m.subject.ends_with("042917"), "{m:?}");
            assert!(m.body.lines().next().unwrap().ends_with("042917"), "{m:?}");
            assert!(m
                .body
                .contains("\nhttps://app.example.com/login/email?token=t-_1\n"));
            assert!(m.body.contains("for 15 minutes."), "{m:?}");
            assert!(!m.body.to_lowercase().contains("password"), "{m:?}");
            assert!(m.body.is_ascii());
        }
        let m = sign_in("https://a.example", "t", "000001", account, 900);
        assert!(m.body.contains("\"Ann\""));
        let m = sign_in(
            "https://a.example",
            "t",
            "000001",
            SignInFor::NewAccount,
            900,
        );
        assert!(m.body.contains("create an account"));
    }

    #[test]
    fn lifetimes_read_as_people_say_them() {
        assert_eq!(lifetime(3_600), "1 hour");
        assert_eq!(lifetime(7_200), "2 hours");
        assert_eq!(lifetime(90), "2 minutes");
        assert_eq!(lifetime(1), "1 second");
    }
}
