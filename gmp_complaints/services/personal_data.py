"""The cipher for complainant personal data; keys from configuration, never from the database."""
from __future__ import annotations

from gmp_complaints.config import Settings
from gmp_complaints.personal_data_crypto import PersonalDataCipher, keys_from_env, load_or_create_key_file

_ciphers: dict[tuple, PersonalDataCipher] = {}


def cipher_for(settings: Settings) -> PersonalDataCipher:
    key_source = (settings.personal_data_keys, str(settings.personal_data_key_file))
    if key_source not in _ciphers:
        keys = (keys_from_env(settings.personal_data_keys) if settings.personal_data_keys
                else load_or_create_key_file(settings.personal_data_key_file))
        _ciphers[key_source] = PersonalDataCipher(keys)
    return _ciphers[key_source]
