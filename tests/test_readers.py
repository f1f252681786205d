"""Each reader and each label convention, on small fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TRANSCRIPTS, write_docx_paragraphs

from qualcode.ingest import read_transcript
from qualcode.ingest.labels import is_interviewer_label, match_label
from qualcode.ingest.paragraphs import PROSE_SPEAKER, Paragraph, paragraphs_to_turns

# file -> (format, speakers of the turns in order, first words of the first turn, timestamps)
EXPECTED: dict[str, tuple[str, list[str], str, list[str | None] | None]] = {
    "interview_namen.txt": (
        "txt",
        ["Interviewer", "Els Hoekstra", "Interviewer", "Els Hoekstra", "Interviewer"],
        "Fijn dat je tijd hebt.",
        ["00:00:04", "00:00:15", "00:01:02", "00:01:09", "00:02:30"],
    ),
    "interview_ir.txt": (
        "txt",
        ["I", "R", "I", "R"],
        "Hoe was het eerste jaar",
        ["00:04:12", "00:04:20", "00:05:01", "00:05:07"],
    ),
    "focusgroep_rnummers.txt": (
        "txt",
        ["Moderator", "R1", "R3", "Moderator", "R1", "R3"],
        "Welkom allemaal.",
        None,
    ),
    "focusgroep_deelnemers.txt": (
        "txt",
        ["Moderator", "Deelnemer 2", "Deelnemer 4", "Moderator", "Deelnemer 2"],
        "Wie wil er beginnen?",
        None,
    ),
    "f4_spreker.txt": (
        "txt",
        ["Spreker 1", "Spreker 2", "Spreker 1", "Spreker 2"],
        "Goedemiddag. Kunt u",
        ["00:00:03", "00:00:21", "00:00:52", "00:01:05"],
    ),
    "spreker_eigen_regel.txt": (
        "txt",
        ["Spreker 1", "Spreker 2", "Spreker 1", "Spreker 2"],
        "Goedemorgen. We hebben",
        ["00:00:05", "00:00:11", None, None],
    ),
    "naam_rol.txt": (
        "txt",
        ["Interviewer", "Fatima El Amrani", "Interviewer", "Fatima El Amrani"],
        "Wat doe je precies?",
        None,
    ),
    "interview.md": (
        "md",
        ["Interviewer", "Els Hoekstra", "Interviewer", "Els Hoekstra"],
        "Hoe merkt u de crisis",
        None,
    ),
    "utf8_bom_crlf.txt": (
        "txt",
        ["Interviewer", "R", "Interviewer", "R"],
        "Hoe was het café",
        None,
    ),
    "cp1252_crlf.txt": (
        "txt",
        ["Interviewer", "R", "Interviewer", "R"],
        "Hoe was het café",
        None,
    ),
    "teams.vtt": (
        "vtt-teams",
        ["Sanne de Vries", "Ahmed Yilmaz", "Sanne de Vries"],
        "Goedemorgen Ahmed, fijn",
        ["00:00:01", "00:00:08", "00:00:19"],
    ),
    "zoom.vtt": (
        "vtt-zoom",
        ["Ilse van Dam", "Joost Mulder", "Ilse van Dam", "Joost Mulder"],
        "Welkom bij dit gesprek",
        ["00:00:01", "00:00:08", "00:00:15", "00:00:17"],
    ),
    "focusgroep.srt": (
        "srt",
        ["Moderator", "R1", "R2", "Moderator"],
        "Welkom allemaal, fijn dat jullie er zijn.",
        ["00:00:01", "00:00:08", "00:00:15", "00:00:19"],
    ),
    "veldnotitie.txt": (
        "txt",
        [PROSE_SPEAKER] * 3,
        "Veldnotitie buurthuis De Kern",
        None,
    ),
    "spreekuur_notities.md": (
        "md",
        [PROSE_SPEAKER] * 3,
        "Het was druk bij het spreekuur.",
        None,
    ),
}


def test_every_text_fixture_has_expectations() -> None:
    from conftest import TEXT_FIXTURES

    assert sorted(EXPECTED) == TEXT_FIXTURES


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reader_turns(name: str) -> None:
    fmt, speakers, first_words, stamps = EXPECTED[name]
    parsed = read_transcript(TRANSCRIPTS / name)
    assert parsed.format == fmt
    assert [t.speaker for t in parsed.turns] == speakers
    assert parsed.turns[0].paragraphs[0].startswith(first_words)
    assert parsed.has_speakers == (speakers[0] != PROSE_SPEAKER)
    if stamps is not None:
        assert [t.timestamp for t in parsed.turns] == stamps
    for turn in parsed.turns:
        for para in turn.paragraphs:
            assert para == para.strip() and para
            # labels and timestamps never leak into the spoken text
            assert not para.startswith(f"{turn.speaker}:")
            assert "#00:" not in para and "-->" not in para


def _turn_texts(name: str) -> list[str]:
    return ["\n".join(t.paragraphs) for t in read_transcript(TRANSCRIPTS / name).turns]


def test_full_names_with_bracket_timestamps_and_continuation_paragraph() -> None:
    turns = read_transcript(TRANSCRIPTS / "interview_namen.txt").turns
    els = turns[1]
    assert els.paragraphs == (
        "Ja, eh, ik ben maatschappelijk werker in Leeuwarden. Sinds de lockdown bel ik veel"
        " meer met mensen dan dat ik ze zie.",
        "Dat is best lastig, want aan de telefoon hoor je niet alles. [onverstaanbaar] Soms"
        " hoor je alleen een zucht.",
    )
    assert els.start_time == 15.0
    # annotations and curly quotes are kept in the text
    assert "“ik praat alleen nog met de kat” (lacht)" in turns[3].paragraphs[0]


def test_ir_one_line_per_paragraph_and_unlabelled_line_continues() -> None:
    texts = _turn_texts("interview_ir.txt")
    assert texts[1] == (
        "Nou, zwaar. Mijn opdrachten vielen in één week weg. Ik heb toen echt even niet"
        " geweten hoe ik de huur moest betalen."
    )
    assert "(stilte)" in texts[3]


def test_annotation_only_paragraph_continues_the_turn() -> None:
    turns = read_transcript(TRANSCRIPTS / "focusgroep_rnummers.txt").turns
    assert turns[4].speaker == "R1"
    assert turns[4].paragraphs[-1] == "(stilte)"


def test_preamble_before_first_label_is_skipped_and_same_speaker_merges() -> None:
    turns = read_transcript(TRANSCRIPTS / "focusgroep_deelnemers.txt").turns
    assert all("Focusgroep vrijwilligers" not in p for t in turns for p in t.paragraphs)
    assert turns[2].speaker == "Deelnemer 4"
    assert turns[2].paragraphs == (
        "Bij ons ook, maar na een paar maanden viel het stil.",
        "Mensen gingen weer aan het werk, snap je.",
    )


def test_f4_trailing_timestamps_are_removed() -> None:
    turns = read_transcript(TRANSCRIPTS / "f4_spreker.txt").turns
    assert turns[1].paragraphs[-1] == "En ik zat thuis met twee kinderen die online les hadden."
    assert turns[1].start_time == 21.0
    assert turns[3].paragraphs == (
        "Het was ook zwaar (zucht). Ik had het gevoel dat niemand het zag.",
    )


def test_label_on_its_own_line_followed_by_text() -> None:
    turns = read_transcript(TRANSCRIPTS / "spreker_eigen_regel.txt").turns
    assert turns[1].paragraphs == (
        "Ja. Nou, wat mij opviel is dat de buren elkaar juist meer opzochten. Vooral in het"
        " begin, met die applaus-avonden.",
    )
    assert turns[2].paragraphs == ("En later?",)


def test_name_with_role() -> None:
    turns = read_transcript(TRANSCRIPTS / "naam_rol.txt").turns
    assert turns[1].speaker == "Fatima El Amrani"
    assert turns[1].role == "jongerenwerker"
    assert "[naam]" in turns[3].paragraphs[0]


def test_markdown_bold_labels_headings_and_emphasis() -> None:
    turns = read_transcript(TRANSCRIPTS / "interview.md").turns
    assert turns[1].role == "huisarts"
    assert turns[1].paragraphs[1] == "Ook jongeren bellen vaker, met angstklachten en somberheid."
    every = " ".join(p for t in turns for p in t.paragraphs)
    assert "Samenwerking" not in every and "**" not in every and "#" not in every
    assert "Afgenomen op" not in every  # italic info line before the first label


@pytest.mark.parametrize("name", ["utf8_bom_crlf.txt", "cp1252_crlf.txt"])
def test_encodings_and_crlf(name: str) -> None:
    raw = (TRANSCRIPTS / name).read_bytes()
    assert b"\r\n" in raw
    parsed = read_transcript(TRANSCRIPTS / name)
    assert parsed.encoding == ("utf-8-sig" if name.startswith("utf8") else "cp1252")
    texts = [p for t in parsed.turns for p in t.paragraphs]
    joined = "\n".join(texts)
    assert "\r" not in joined and "\ufeff" not in joined
    assert "Ideeën" in joined and "“niemand”" in joined and "reünie" in joined
    reference = read_transcript(TRANSCRIPTS / "utf8_bom_crlf.txt")
    assert texts == [p for t in reference.turns for p in t.paragraphs]


def test_plain_utf8_and_cr_only_line_endings(tmp_path: Path) -> None:
    text = "I: Hoe gaat het met je?\r\rR: Goed, maar ik mis de koffieochtend.\r"
    path = tmp_path / "mac.txt"
    path.write_bytes(text.encode("utf-8"))
    parsed = read_transcript(path)
    assert parsed.encoding == "utf-8"
    assert [t.speaker for t in parsed.turns] == ["I", "R"]


def test_teams_cues_of_one_speaker_merge() -> None:
    turns = read_transcript(TRANSCRIPTS / "teams.vtt").turns
    assert len(turns) == 3
    assert turns[1].paragraphs == (
        "Nou, eerlijk gezegd niet zo goed. Veel van hen hangen op straat (zucht), en sommigen"
        " hebben schulden bij webwinkels.",
    )
    assert (turns[1].start_time, turns[1].end_time) == (8.0, 18.9)


def test_zoom_prefix_on_every_cue() -> None:
    turns = read_transcript(TRANSCRIPTS / "zoom.vtt").turns
    assert turns[1].paragraphs == (
        "Ja, ik ben opbouwwerker in Zwolle. Al twaalf jaar, en zo'n jaar als dit heb ik nooit"
        " meegemaakt.",
    )
    assert all("Joost Mulder:" not in p for t in turns for p in t.paragraphs)


def test_zoom_name_said_once_is_a_speaker(tmp_path: Path) -> None:
    path = tmp_path / "kort.vtt"
    path.write_text(
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\nIlse van Dam: Nog vragen?\n\n"
        "2\n00:00:03.500 --> 00:00:05.000\nKarin Bos: Nee, dank je.\n",
        encoding="utf-8",
    )
    assert [t.speaker for t in read_transcript(path).turns] == ["Ilse van Dam", "Karin Bos"]


def test_srt_prefix_only_on_speaker_change() -> None:
    turns = read_transcript(TRANSCRIPTS / "focusgroep.srt").turns
    assert turns[0].paragraphs == (
        "Welkom allemaal, fijn dat jullie er zijn. Wie wil er beginnen?",
    )
    assert turns[1].paragraphs == (
        "Ik begin wel. Ik ben mantelzorger voor mijn vader, hij woont in Appingedam.",
    )
    assert turns[2].paragraphs == (
        "Ik zorg voor mijn broer. (lacht) Dat is een heel ander verhaal.",
    )


def test_prose_one_turn_per_paragraph() -> None:
    parsed = read_transcript(TRANSCRIPTS / "veldnotitie.txt")
    assert not parsed.has_speakers
    assert [len(t.paragraphs) for t in parsed.turns] == [1, 1, 1]
    # 'Kijk:' inside prose is not a speaker
    assert parsed.turns[2].paragraphs[0].endswith("hebben deze mensen niets meer.")


def test_prose_markdown_headings_are_not_turns() -> None:
    turns = read_transcript(TRANSCRIPTS / "spreekuur_notities.md").turns
    assert [t.paragraphs[0] for t in turns] == [
        "Het was druk bij het spreekuur. Een jonge moeder vroeg voor het eerst om hulp bij"
        " haar schulden.",
        "Ze schaamde zich zichtbaar.",
        "Rustiger. Twee studenten met vragen over huurtoeslag.",
    ]


# -- binary formats ----------------------------------------------------------------------------


def test_docx_paragraphs(binary_fixtures: dict[str, Path]) -> None:
    parsed = read_transcript(binary_fixtures["gesprek_alineas.docx"])
    assert parsed.format == "docx"
    assert [t.speaker for t in parsed.turns] == [
        "Moderator",
        "Deelnemer 1",
        "Deelnemer 2",
        "Moderator",
    ]
    assert parsed.turns[0].paragraphs == ("Welkom allemaal. Wie wil beginnen?",)
    assert parsed.turns[1].paragraphs[1] == "Het buurthuis is dicht, de sportschool ook (zucht)."
    assert parsed.turns[2].timestamp == "00:01:02"
    every = " ".join(p for t in parsed.turns for p in t.paragraphs)
    assert "Focusgroep jongerenwerkers" not in every and "Sessie 2" not in every


def test_docx_table_with_empty_speaker_cell(binary_fixtures: dict[str, Path]) -> None:
    parsed = read_transcript(binary_fixtures["gesprek_tabel.docx"])
    assert [t.speaker for t in parsed.turns] == [
        "Interviewer",
        "Respondent",
        "Interviewer",
        "Respondent",
    ]
    assert parsed.turns[1].paragraphs == (
        "Slecht, eerlijk gezegd.",
        "Ze zijn op, echt op.",
        "En dan durven ze ook nog geen hulp te vragen.",
    )
    every = " ".join(p for t in parsed.turns for p in t.paragraphs)
    assert "Interview wijkteam" not in every and "Spreker" not in every


def test_docx_table_speaker_cell_with_role_and_colon(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Spreker", "Tekst"
    for speaker, text in [("Interviewer:", "Hoe gaat het?"), ("Els Hoekstra (huisarts)", "Druk.")]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = speaker, text
    document.save(tmp_path / "rol.docx")
    turns = read_transcript(tmp_path / "rol.docx").turns
    assert [(t.speaker, t.role) for t in turns] == [
        ("Interviewer", None),
        ("Els Hoekstra", "huisarts"),
    ]


def test_docx_without_labels_is_prose(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Verslag van de wijkschouw in Kanaleneiland.", style="Title")
    document.add_paragraph("We liepen met twee buurtbewoners langs de flats.")
    document.add_paragraph("Op het plein stonden jongeren, ondanks de avondklok.")
    document.save(tmp_path / "verslag.docx")
    parsed = read_transcript(tmp_path / "verslag.docx")
    assert not parsed.has_speakers
    assert [t.speaker for t in parsed.turns] == [PROSE_SPEAKER, PROSE_SPEAKER]


def test_odt(binary_fixtures: dict[str, Path]) -> None:
    parsed = read_transcript(binary_fixtures["gesprek.odt"])
    assert parsed.format == "odt"
    assert [t.speaker for t in parsed.turns] == ["I", "R", "I", "R"]
    assert parsed.turns[1].paragraphs == (
        "Zwaar. Veel mensen zaten alleen thuis, vooral de ouderen in de flat.",
        "Sommigen zagen weken niemand.",
    )


def test_known_speakers_from_metadata_make_a_single_name_a_label(tmp_path: Path) -> None:
    path = tmp_path / "kort.txt"
    path.write_text("Interviewer: Nog iets?\n\nKarin: Nee hoor.\n", encoding="utf-8")
    # 'Karin:' occurs once: without metadata it is text of the interviewer's turn
    assert [t.speaker for t in read_transcript(path).turns] == ["Interviewer"]
    turns = read_transcript(path, known_speakers=["karin"]).turns
    assert [t.speaker for t in turns] == ["Interviewer", "Karin"]


def test_docx_reader_is_independent_of_file_name(tmp_path: Path) -> None:
    path = write_docx_paragraphs(tmp_path / "ANDERE NAAM.DOCX")
    assert len(read_transcript(path).turns) == 4


# -- label conventions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "label", "role", "timestamp", "rest"),
    [
        ("Interviewer: Hoe gaat het?", "Interviewer", None, None, "Hoe gaat het?"),
        ("I: Hoe gaat het?", "I", None, None, "Hoe gaat het?"),
        ("R: Goed.", "R", None, None, "Goed."),
        ("R3: Ja, dat herken ik.", "R3", None, None, "Ja, dat herken ik."),
        ("Moderator: Welkom.", "Moderator", None, None, "Welkom."),
        ("Deelnemer 4: Nou ja.", "Deelnemer 4", None, None, "Nou ja."),
        ("Deelnemer 10 (buurtbewoner): Ja.", "Deelnemer 10", "buurtbewoner", None, "Ja."),
        ("Spreker 1", "Spreker 1", None, None, ""),
        ("Spreker 1 [00:00:05]", "Spreker 1", None, "00:00:05", ""),
        ("Interviewer", "Interviewer", None, None, ""),
        ("Els Hoekstra: Nou, eh.", "Els Hoekstra", None, None, "Nou, eh."),
        ("Els Hoekstra:", "Els Hoekstra", None, None, ""),
        ("Mevrouw Van der Berg: Ja.", "Mevrouw Van der Berg", None, None, "Ja."),
        ("Anne-Marie de Jong: Klopt.", "Anne-Marie de Jong", None, None, "Klopt."),
        ("Naam (rol): tekst", "Naam", "rol", None, "tekst"),
        (
            "Fatima El Amrani (jongerenwerker): Ja.",
            "Fatima El Amrani",
            "jongerenwerker",
            None,
            "Ja.",
        ),
        ("[00:12:31] Interviewer: Hoe?", "Interviewer", None, "00:12:31", "Hoe?"),
        ("00:12:31 R: Tja.", "R", None, "00:12:31", "Tja."),
        ("[00:03:12] Deelnemer 2: tekst", "Deelnemer 2", None, "00:03:12", "tekst"),
        ("**Interviewer:** Hoe?", "Interviewer", None, None, "Hoe?"),
        ("**Els Hoekstra (huisarts):** Ja.", "Els Hoekstra", "huisarts", None, "Ja."),
        ("Spreker 2: Ja. #00:12:31-4#", "Spreker 2", None, None, "Ja. #00:12:31-4#"),
        ("SPEAKER_01: Hallo.", "SPEAKER_01", None, None, "Hallo."),
        ("Huisarts 1: Ja.", "Huisarts 1", None, None, "Ja."),
        ("**Ouder 2 (vader):** Nou.", "Ouder 2", "vader", None, "Nou."),
        ("Anna (00:04:12): Ja.", "Anna", None, "00:04:12", "Ja."),
    ],
)
def test_match_label(
    paragraph: str, label: str, role: str | None, timestamp: str | None, rest: str
) -> None:
    match = match_label(paragraph)
    assert match is not None
    assert (match.label, match.role, match.timestamp, match.rest) == (label, role, timestamp, rest)


@pytest.mark.parametrize(
    "paragraph",
    [
        "Kijk: zo zit dat.",
        "Ik zei: nee.",
        "Nou: dat weet ik niet.",
        "Ik heb 3 kinderen: twee meisjes en een jongen.",
        "Vraag 1: hoe ervaart u de lockdown?",
        "Datum: 12 maart 2021",
        "Els Hoekstra",  # a bare name without colon or timestamp
        "(lacht)",
        "- Hoe gaat het?",
    ],
)
def test_not_a_label(paragraph: str) -> None:
    assert match_label(paragraph) is None


@pytest.mark.parametrize(
    ("label", "interviewer"),
    [
        ("Interviewer", True),
        ("interviewer", True),
        ("I", True),
        ("Moderator", True),
        ("Gespreksleider", True),
        ("R", False),
        ("R3", False),
        ("Respondent", False),
        ("Deelnemer 2", False),
        ("Spreker 1", False),
        ("Els Hoekstra", False),
        ("Ingrid", False),
        ("Mirjam de Wit", False),
        ("Moderator 2", True),
        ("Interviewer 1", True),
        ("Huisarts 1", False),
    ],
)
def test_interviewer_by_label(label: str, interviewer: bool) -> None:
    assert is_interviewer_label(label) is interviewer


def test_paragraphs_to_turns_one_name_once_is_not_a_speaker() -> None:
    """A capitalised word with a colon that occurs once is ordinary text, not a label."""
    paras = [
        Paragraph("I: Wat zei uw buurman?", 1),
        Paragraph("R: Hij zei het zo.", 2),
        Paragraph("Henk: ik kom niet meer naar buiten.", 3),
    ]
    turns, has_speakers = paragraphs_to_turns(paras, file="x.txt")
    assert has_speakers
    assert [t.speaker for t in turns] == ["I", "R"]
    assert turns[1].paragraphs[1] == "Henk: ik kom niet meer naar buiten."


def test_numbered_role_labels_are_speakers() -> None:
    paras = [
        Paragraph("Moderator: Wie wil beginnen?", 1),
        Paragraph("Huisarts 1: Ik. Het spreekuur liep vol.", 2),
        Paragraph("Huisarts 2: Bij ons ook.", 3),
        Paragraph("Moderator 2: En de POH?", 4),
        Paragraph("Huisarts 1: Die belde iedereen na.", 5),
        Paragraph("Huisarts 2: Klopt.", 6),
        Paragraph("Stap 1: dit staat er maar een keer.", 7),
    ]
    turns, has_speakers = paragraphs_to_turns(paras, file="x.txt")
    assert has_speakers
    assert [t.speaker for t in turns] == [
        "Moderator", "Huisarts 1", "Huisarts 2", "Moderator 2", "Huisarts 1", "Huisarts 2"
    ]  # fmt: skip
    assert turns[-1].paragraphs[-1] == "Stap 1: dit staat er maar een keer."  # said once: text
