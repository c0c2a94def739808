"""Name material for demo residents: surnames by frequency and given names by sex and generation.

Surname weights follow the national frequency order (公安部户籍人口统计, rounded, per ten thousand)
with the surnames that are markedly more common in Ningxia raised (马, 丁, 海, 纳, 杨, 白, 虎, 拓).
Given names are drawn from names typical of each birth generation, or composed from two common
characters, so that a 1950s grandmother is 秀兰 and a 2015 grandchild 梓涵.
"""

from __future__ import annotations

import random

# fmt: off
SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 710), ("李", 700), ("张", 670), ("刘", 540), ("马", 420), ("陈", 400), ("杨", 360),
    ("赵", 230), ("黄", 150), ("吴", 190), ("周", 180), ("徐", 140), ("孙", 150), ("朱", 120),
    ("胡", 130), ("郭", 130), ("何", 110), ("高", 120), ("林", 60), ("罗", 80), ("郑", 80),
    ("梁", 80), ("谢", 60), ("宋", 80), ("唐", 60), ("许", 70), ("韩", 80), ("冯", 70), ("邓", 50),
    ("曹", 70), ("彭", 40), ("曾", 30), ("肖", 50), ("田", 70), ("董", 60), ("袁", 50), ("潘", 40),
    ("于", 50), ("蒋", 30), ("蔡", 30), ("余", 30), ("杜", 50), ("叶", 30), ("程", 40), ("苏", 50),
    ("魏", 50), ("吕", 40), ("丁", 110), ("任", 40), ("沈", 30), ("姚", 30), ("卢", 30), ("姜", 30),
    ("崔", 30), ("钟", 20), ("谭", 20), ("陆", 20), ("汪", 20), ("范", 30), ("金", 30), ("石", 30),
    ("廖", 10), ("贾", 40), ("夏", 20), ("付", 30), ("方", 20), ("白", 60), ("邹", 20), ("孟", 30),
    ("秦", 30), ("邱", 20), ("尹", 20), ("薛", 30), ("闫", 40), ("段", 20), ("雷", 30), ("侯", 30),
    ("史", 30), ("陶", 20), ("贺", 30), ("顾", 10), ("毛", 20), ("郝", 30), ("龚", 10), ("邵", 20),
    ("万", 20), ("武", 30), ("康", 20), ("常", 20), ("海", 40), ("纳", 25), ("虎", 15), ("拓", 10),
    ("锁", 8), ("穆", 15), ("哈", 8), ("撒", 5), ("冶", 8), ("安", 15), ("米", 10), ("保", 8),
)

# Given names typical of each generation (birth year before 1960, 1960-1979, 1980-1999, 2000 on).
_MALE_BY_ERA: tuple[tuple[str, ...], ...] = (
    ("建国", "建华", "国庆", "志刚", "德明", "国强", "福生", "永福", "长海", "文华", "玉林", "振华",
     "宝山", "树林", "金山", "占山", "学文", "忠义", "兴旺", "有才", "德胜", "守成", "万福", "志和"),
    ("建军", "志强", "卫东", "红军", "海涛", "建平", "永刚", "文斌", "立新", "志勇", "晓东", "军",
     "勇", "斌", "刚", "强", "伟", "明", "华", "平", "建新", "利民", "向东", "卫国"),
    ("伟", "磊", "鹏", "超", "杰", "涛", "浩", "斌", "波", "鑫", "亮", "俊杰", "志伟", "海龙",
     "晓峰", "建伟", "文博", "宇航", "家豪", "振宇", "凯", "帅", "龙", "阳"),
    ("浩宇", "子轩", "宇轩", "梓豪", "俊熙", "浩然", "子墨", "一鸣", "睿", "晨阳", "铭泽", "皓轩",
     "思远", "嘉懿", "博文", "雨泽", "奕辰", "梓睿", "子豪", "天佑", "宇", "泽宇", "锦程", "沐阳"),
)
_FEMALE_BY_ERA: tuple[tuple[str, ...], ...] = (
    ("秀兰", "桂英", "秀英", "玉兰", "淑珍", "凤英", "秀珍", "桂兰", "玉珍", "素珍", "桂芳", "兰英",
     "秀芳", "玉梅", "翠花", "金凤", "淑英", "凤兰", "玉英", "桂珍", "秀云", "玉芬", "春兰", "月英"),
    ("丽", "红", "艳", "霞", "燕", "梅", "丽萍", "海燕", "红梅", "艳红", "晓红", "秀梅", "丽娟",
     "建英", "春燕", "丽华", "玉霞", "淑芳", "彩霞", "小红", "爱华", "红霞", "晓梅", "金花"),
    ("娜", "静", "敏", "婷", "丹", "倩", "雪", "慧", "颖", "晶", "丽娜", "婷婷", "佳", "琳", "欣",
     "雯", "洁", "蕾", "晓燕", "文静", "佳琪", "思琪", "瑞", "莉"),
    ("梓涵", "子涵", "欣怡", "雨桐", "一诺", "梓萱", "诗涵", "可馨", "语桐", "佳怡", "思雨", "若曦",
     "梦瑶", "雨欣", "紫萱", "欣妍", "佳琪", "书瑶", "芷若", "语嫣", "沐晨", "安琪", "雨萱", "诗琪"),
)
# fmt: on
_MALE_FIRST = "建志文国海永俊宏晓子浩宇明振家天立正学德"
_MALE_SECOND = "军强伟华平明刚勇杰涛斌龙峰辉波林东成鹏飞"
_FEMALE_FIRST = "秀玉丽晓春美婷雅思欣佳雨梦慧淑桂海红金月"
_FEMALE_SECOND = "英兰芳华萍燕红梅霞娟婷丽琳静洁雪敏娜倩玲"

ERA_BOUNDS = (1960, 1980, 2000)


def era_of(year: int) -> int:
    return sum(1 for bound in ERA_BOUNDS if year >= bound)


def surname_pool() -> list[str]:
    """Surnames repeated by weight: `rng.choice(pool)` draws by frequency in constant time."""
    return [name for name, weight in SURNAMES for _ in range(weight)]


def given_name_pools() -> dict[tuple[int, bool], list[str]]:
    """(era, male) -> given names, generation-typical ones about 40%, composed ones the rest."""
    pools: dict[tuple[int, bool], list[str]] = {}
    for male, by_era, first, second in (
        (True, _MALE_BY_ERA, _MALE_FIRST, _MALE_SECOND),
        (False, _FEMALE_BY_ERA, _FEMALE_FIRST, _FEMALE_SECOND),
    ):
        composed = [a + b for a in first for b in second if a != b] + list(second)
        for era, typical in enumerate(by_era):
            pools[(era, male)] = composed + list(typical) * (len(composed) * 2 // 3 // len(typical))
    return pools


def person_name(
    rng: random.Random, surname: str, pools: dict[tuple[int, bool], list[str]], year: int, male: bool
) -> str:
    return surname + rng.choice(pools[(era_of(year), male)])
