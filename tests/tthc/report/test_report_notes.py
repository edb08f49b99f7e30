"""The report's words for the 766 items the export cannot score: what leaders read instead of the
engineers' reasons that mart.score_766 carries."""

from tthc.report.data import not_scored_items

# mart.score_766.not_scored as include/sql/marts/score_766.sql writes it from the scoring rules
FROM_MART = (
    "1.1-1.3 (12 điểm): Công khai TTHC (mục 1.1–1.3): dữ liệu xuất không có thông tin công bố, công khai thủ tục; "
    "4.x (2 điểm): Nhóm số hóa có 22 điểm nhưng indicators.md chỉ định nghĩa các mục 4.1–4.6 (20 điểm): "
    "2 điểm còn lại chưa có định nghĩa"
)


def test_known_items_are_said_in_the_leaders_words():
    items = not_scored_items(FROM_MART)
    assert items == [
        "Mục 1.1–1.3 (12 điểm): công bố, công khai thủ tục hành chính. Dữ liệu của hệ thống giải quyết "
        "thủ tục hành chính chưa có thông tin này.",
        "Nhóm Số hóa hồ sơ (2 điểm): nhóm có 22 điểm nhưng các mục 4.1–4.6 cộng lại là 20 điểm; "
        "2 điểm còn lại chưa có cách tính.",
    ]
    assert not any(".md" in item for item in items)


def test_an_item_without_words_keeps_its_reason():
    assert not_scored_items("1.1-1.3 (12 điểm): x; 9.9 (3.50 điểm): không có dữ liệu; còn lại") == [
        not_scored_items("1.1-1.3 (12 điểm): x")[0],
        "Mục 9.9 (3.5 điểm): không có dữ liệu; còn lại",
    ]
    assert not_scored_items("một lý do khác") == ["một lý do khác"]
    assert not_scored_items(None) == [] and not_scored_items("") == []
