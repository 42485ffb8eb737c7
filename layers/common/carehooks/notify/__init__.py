"""Operations email: rendering (Jinja2, autoescaped HTML + plain text) and sending through SES v2."""
