"""Language names -> NLLB-200 (FLORES-200) codes, for the ``translator`` tool.

Names are matched without regard to case; codes themselves (``"fra_Latn"``) are accepted too, and
a few common ISO 639-1 codes (``"fr"``, ``"de"``) map to the main variety.
"""

from __future__ import annotations

from ...errors import ToolError, closest_names

__all__ = ["LANGUAGE_CODES", "language_code"]

LANGUAGE_CODES: dict[str, str] = {
    "Acehnese Arabic": "ace_Arab", "Acehnese": "ace_Latn", "Mesopotamian Arabic": "acm_Arab",
    "Ta'izzi-Adeni Arabic": "acq_Arab", "Tunisian Arabic": "aeb_Arab", "Afrikaans": "afr_Latn",
    "South Levantine Arabic": "ajp_Arab", "Akan": "aka_Latn", "Amharic": "amh_Ethi",
    "North Levantine Arabic": "apc_Arab", "Arabic": "arb_Arab", "Modern Standard Arabic": "arb_Arab",
    "Najdi Arabic": "ars_Arab", "Moroccan Arabic": "ary_Arab", "Egyptian Arabic": "arz_Arab",
    "Assamese": "asm_Beng", "Asturian": "ast_Latn", "Awadhi": "awa_Deva", "Aymara": "ayr_Latn",
    "Central Aymara": "ayr_Latn", "South Azerbaijani": "azb_Arab", "Azerbaijani": "azj_Latn",
    "North Azerbaijani": "azj_Latn", "Bashkir": "bak_Cyrl", "Bambara": "bam_Latn",
    "Balinese": "ban_Latn", "Belarusian": "bel_Cyrl", "Bemba": "bem_Latn", "Bengali": "ben_Beng",
    "Bangla": "ben_Beng", "Bhojpuri": "bho_Deva", "Banjar Arabic": "bjn_Arab", "Banjar": "bjn_Latn",
    "Tibetan": "bod_Tibt", "Standard Tibetan": "bod_Tibt", "Bosnian": "bos_Latn",
    "Buginese": "bug_Latn", "Bulgarian": "bul_Cyrl", "Catalan": "cat_Latn", "Cebuano": "ceb_Latn",
    "Czech": "ces_Latn", "Chokwe": "cjk_Latn", "Central Kurdish": "ckb_Arab", "Sorani": "ckb_Arab",
    "Crimean Tatar": "crh_Latn", "Welsh": "cym_Latn", "Danish": "dan_Latn", "German": "deu_Latn",
    "Southwestern Dinka": "dik_Latn", "Dinka": "dik_Latn", "Dyula": "dyu_Latn",
    "Dzongkha": "dzo_Tibt", "Greek": "ell_Grek", "English": "eng_Latn", "Esperanto": "epo_Latn",
    "Estonian": "est_Latn", "Basque": "eus_Latn", "Ewe": "ewe_Latn", "Faroese": "fao_Latn",
    "Persian": "pes_Arab", "Western Persian": "pes_Arab", "Farsi": "pes_Arab", "Fijian": "fij_Latn",
    "Finnish": "fin_Latn", "Fon": "fon_Latn", "French": "fra_Latn", "Friulian": "fur_Latn",
    "Nigerian Fulfulde": "fuv_Latn", "Fulfulde": "fuv_Latn", "Fula": "fuv_Latn",
    "Scottish Gaelic": "gla_Latn", "Irish": "gle_Latn", "Galician": "glg_Latn",
    "Guarani": "grn_Latn", "Gujarati": "guj_Gujr", "Haitian Creole": "hat_Latn",
    "Hausa": "hau_Latn", "Hebrew": "heb_Hebr", "Hindi": "hin_Deva", "Chhattisgarhi": "hne_Deva",
    "Croatian": "hrv_Latn", "Hungarian": "hun_Latn", "Armenian": "hye_Armn", "Igbo": "ibo_Latn",
    "Ilocano": "ilo_Latn", "Indonesian": "ind_Latn", "Icelandic": "isl_Latn", "Italian": "ita_Latn",
    "Javanese": "jav_Latn", "Japanese": "jpn_Jpan", "Kabyle": "kab_Latn", "Jingpho": "kac_Latn",
    "Kamba": "kam_Latn", "Kannada": "kan_Knda", "Kashmiri Arabic": "kas_Arab",
    "Kashmiri": "kas_Arab", "Kashmiri Devanagari": "kas_Deva", "Georgian": "kat_Geor",
    "Central Kanuri Arabic": "knc_Arab", "Kanuri": "knc_Latn", "Central Kanuri": "knc_Latn",
    "Kazakh": "kaz_Cyrl", "Kabiye": "kbp_Latn", "Kabuverdianu": "kea_Latn", "Cape Verdean Creole": "kea_Latn",
    "Khmer": "khm_Khmr", "Kikuyu": "kik_Latn", "Kinyarwanda": "kin_Latn", "Kyrgyz": "kir_Cyrl",
    "Kimbundu": "kmb_Latn", "Kikongo": "kon_Latn", "Korean": "kor_Hang",
    "Northern Kurdish": "kmr_Latn", "Kurdish": "kmr_Latn", "Kurmanji": "kmr_Latn", "Lao": "lao_Laoo",
    "Latvian": "lvs_Latn", "Standard Latvian": "lvs_Latn", "Ligurian": "lij_Latn",
    "Limburgish": "lim_Latn", "Lingala": "lin_Latn", "Lithuanian": "lit_Latn", "Lombard": "lmo_Latn",
    "Latgalian": "ltg_Latn", "Luxembourgish": "ltz_Latn", "Luba-Kasai": "lua_Latn",
    "Ganda": "lug_Latn", "Luganda": "lug_Latn", "Luo": "luo_Latn", "Mizo": "lus_Latn",
    "Magahi": "mag_Deva", "Maithili": "mai_Deva", "Malayalam": "mal_Mlym", "Marathi": "mar_Deva",
    "Minangkabau": "min_Latn", "Macedonian": "mkd_Cyrl", "Malagasy": "plt_Latn",
    "Plateau Malagasy": "plt_Latn", "Maltese": "mlt_Latn", "Meitei": "mni_Beng",
    "Manipuri": "mni_Beng", "Mongolian": "khk_Cyrl", "Halh Mongolian": "khk_Cyrl",
    "Mossi": "mos_Latn", "Maori": "mri_Latn", "Malay": "zsm_Latn", "Standard Malay": "zsm_Latn",
    "Burmese": "mya_Mymr", "Dutch": "nld_Latn", "Norwegian Nynorsk": "nno_Latn",
    "Norwegian": "nob_Latn", "Norwegian Bokmal": "nob_Latn", "Nepali": "npi_Deva",
    "Northern Sotho": "nso_Latn", "Nuer": "nus_Latn", "Nyanja": "nya_Latn", "Chichewa": "nya_Latn",
    "Occitan": "oci_Latn", "Oromo": "gaz_Latn", "West Central Oromo": "gaz_Latn", "Odia": "ory_Orya",
    "Oriya": "ory_Orya", "Pangasinan": "pag_Latn", "Punjabi": "pan_Guru",
    "Eastern Panjabi": "pan_Guru", "Papiamento": "pap_Latn", "Polish": "pol_Latn",
    "Portuguese": "por_Latn", "Dari": "prs_Arab", "Pashto": "pbt_Arab",
    "Southern Pashto": "pbt_Arab", "Quechua": "quy_Latn", "Ayacucho Quechua": "quy_Latn",
    "Romanian": "ron_Latn", "Rundi": "run_Latn", "Kirundi": "run_Latn", "Russian": "rus_Cyrl",
    "Sango": "sag_Latn", "Sanskrit": "san_Deva", "Santali": "sat_Beng", "Sicilian": "scn_Latn",
    "Shan": "shn_Mymr", "Sinhala": "sin_Sinh", "Slovak": "slk_Latn", "Slovenian": "slv_Latn",
    "Samoan": "smo_Latn", "Shona": "sna_Latn", "Sindhi": "snd_Arab", "Somali": "som_Latn",
    "Southern Sotho": "sot_Latn", "Sesotho": "sot_Latn", "Spanish": "spa_Latn",
    "Albanian": "als_Latn", "Tosk Albanian": "als_Latn", "Sardinian": "srd_Latn",
    "Serbian": "srp_Cyrl", "Swati": "ssw_Latn", "Sundanese": "sun_Latn", "Swedish": "swe_Latn",
    "Swahili": "swh_Latn", "Silesian": "szl_Latn", "Tamil": "tam_Taml", "Tatar": "tat_Cyrl",
    "Telugu": "tel_Telu", "Tajik": "tgk_Cyrl", "Tagalog": "tgl_Latn", "Filipino": "tgl_Latn",
    "Thai": "tha_Thai", "Tigrinya": "tir_Ethi", "Tamasheq": "taq_Latn",
    "Tamasheq Tifinagh": "taq_Tfng", "Tok Pisin": "tpi_Latn", "Tswana": "tsn_Latn",
    "Tsonga": "tso_Latn", "Turkmen": "tuk_Latn", "Tumbuka": "tum_Latn", "Turkish": "tur_Latn",
    "Twi": "twi_Latn", "Central Atlas Tamazight": "tzm_Tfng", "Tamazight": "tzm_Tfng",
    "Uyghur": "uig_Arab", "Ukrainian": "ukr_Cyrl", "Umbundu": "umb_Latn", "Urdu": "urd_Arab",
    "Uzbek": "uzn_Latn", "Northern Uzbek": "uzn_Latn", "Venetian": "vec_Latn",
    "Vietnamese": "vie_Latn", "Waray": "war_Latn", "Wolof": "wol_Latn", "Xhosa": "xho_Latn",
    "Yiddish": "ydd_Hebr", "Eastern Yiddish": "ydd_Hebr", "Yoruba": "yor_Latn",
    "Cantonese": "yue_Hant", "Chinese": "zho_Hans", "Mandarin": "zho_Hans",
    "Simplified Chinese": "zho_Hans", "Chinese Simplified": "zho_Hans",
    "Traditional Chinese": "zho_Hant", "Chinese Traditional": "zho_Hant", "Zulu": "zul_Latn",
}

# ISO 639-1 codes of the most used languages (the main variety).
_ISO_639_1 = {
    "af": "afr_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "bg": "bul_Cyrl", "bn": "ben_Beng",
    "ca": "cat_Latn", "cs": "ces_Latn", "cy": "cym_Latn", "da": "dan_Latn", "de": "deu_Latn",
    "el": "ell_Grek", "en": "eng_Latn", "eo": "epo_Latn", "es": "spa_Latn", "et": "est_Latn",
    "eu": "eus_Latn", "fa": "pes_Arab", "fi": "fin_Latn", "fr": "fra_Latn", "ga": "gle_Latn",
    "gl": "glg_Latn", "gu": "guj_Gujr", "he": "heb_Hebr", "hi": "hin_Deva", "hr": "hrv_Latn",
    "hu": "hun_Latn", "hy": "hye_Armn", "id": "ind_Latn", "is": "isl_Latn", "it": "ita_Latn",
    "ja": "jpn_Jpan", "ka": "kat_Geor", "kk": "kaz_Cyrl", "km": "khm_Khmr", "kn": "kan_Knda",
    "ko": "kor_Hang", "lt": "lit_Latn", "lv": "lvs_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym",
    "mr": "mar_Deva", "ms": "zsm_Latn", "mt": "mlt_Latn", "my": "mya_Mymr", "ne": "npi_Deva",
    "nl": "nld_Latn", "no": "nob_Latn", "pa": "pan_Guru", "pl": "pol_Latn", "pt": "por_Latn",
    "ro": "ron_Latn", "ru": "rus_Cyrl", "sk": "slk_Latn", "sl": "slv_Latn", "sq": "als_Latn",
    "sr": "srp_Cyrl", "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu",
    "th": "tha_Thai", "tl": "tgl_Latn", "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab",
    "uz": "uzn_Latn", "vi": "vie_Latn", "yo": "yor_Latn", "zh": "zho_Hans", "zu": "zul_Latn",
}

_BY_NAME = {name.lower(): code for name, code in LANGUAGE_CODES.items()}
_CODES = {code.lower(): code for code in LANGUAGE_CODES.values()}


def language_code(language: str) -> str:
    """The NLLB code for a language name (``"French"``), an NLLB code or an ISO 639-1 code.

    Raises :class:`ToolError` naming the closest known languages.
    """
    key = " ".join(str(language).split()).lower()
    if key in _CODES:
        return _CODES[key]
    key = key.removesuffix(" language")
    if key in _BY_NAME:
        return _BY_NAME[key]
    if key in _ISO_639_1:
        return _ISO_639_1[key]
    close = closest_names(str(language).title(), LANGUAGE_CODES)
    raise ToolError(
        f"Unknown language {language!r}.",
        hint=(f"Did you mean {', '.join(close)}? " if close else "") + "Use an English name such as 'French'.",
    )
