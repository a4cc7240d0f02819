"""The accountability statement a user accepts before signing (21 CFR 11.100(c), SIG-05).

Its wording is versioned: the version accepted is what the acceptance refers to.
"""
STATEMENT_VERSION = "1"

STATEMENT_EN = (
    "I understand and agree that the electronic signatures I execute in this system are the legally "
    "binding equivalent of my traditional handwritten signature. I will not share my password, and "
    "I will sign only records I have reviewed and whose meaning I intend."
)

STATEMENT_ZH = (
    "本人理解并同意：本人在本系统中执行的电子签名与本人的传统手写签名具有同等法律约束力。"
    "本人不会向他人透露本人的密码，并且只会对本人已审核且确认其含义的记录进行签名。"
)


def statement_text(locale: str) -> str:
    return STATEMENT_ZH if str(locale).startswith("zh") else STATEMENT_EN
