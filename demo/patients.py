"""Realistic Russian patients for the demo and load-test databases: names, phones and
e-mails (``fake_patient_row``), and a million of them in about a minute with PostgreSQL
COPY (``patients_bulk_generate``)."""

from __future__ import annotations

import csv
import datetime
import io
import random
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.catalogue.models import Branch
from patients.models import DEFAULT_TIME_ZONE, Language, Patient
from patients.services import PatientError

_MALE_LAST_NAMES = [
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов",
    "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв",
    "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв",
    "Белов", "Медведев", "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров",
    "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов",
    "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов",
    "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев",
    "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров",
    "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов", "Коновалов", "Лазарев",
    "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев", "Прохоров",
    "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов", "Леонов", "Соболев",
    "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров", "Грачёв", "Котов",
    "Гришин", "Ефремов", "Архипов", "Громов", "Кириллов", "Малышев", "Панов", "Моисеев",
    "Румянцев", "Акимов", "Кондратьев", "Бирюков", "Горбунов", "Анисимов", "Ерёмин",
    "Тихомиров", "Галкин", "Лукьянов", "Михеев", "Скворцов", "Юдин", "Белоусов", "Нестеров",
    "Симонов", "Прокофьев", "Харитонов", "Князев", "Цветков", "Левин", "Митрофанов",
    "Воронов", "Аксёнов", "Софронов", "Мальцев", "Логинов", "Горшков", "Савин", "Краснов",
    "Майоров", "Демидов", "Елисеев", "Рыбаков", "Сафонов", "Плотников", "Демин", "Хохлов",
    "Жданов", "Островский", "Полянский", "Вишневский", "Рожков", "Субботин", "Шестаков",
]  # fmt: skip
_MALE_FIRST_NAMES = [
    "Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья",
    "Кирилл", "Михаил", "Никита", "Матвей", "Роман", "Егор", "Арсений", "Иван", "Денис",
    "Евгений", "Даниил", "Тимофей", "Владислав", "Игорь", "Владимир", "Павел", "Руслан",
    "Марк", "Константин", "Тимур", "Олег", "Ярослав", "Антон", "Николай", "Глеб", "Данил",
    "Савелий", "Вадим", "Степан", "Юрий", "Богдан", "Георгий", "Лев", "Виктор", "Фёдор",
]  # fmt: skip
_FEMALE_FIRST_NAMES = [
    "Анастасия", "Мария", "Анна", "Виктория", "Екатерина", "Наталья", "Марина", "Полина",
    "София", "Дарья", "Алиса", "Ксения", "Александра", "Елена", "Ольга", "Татьяна",
    "Ирина", "Юлия", "Светлана", "Вероника", "Елизавета", "Валерия", "Алёна", "Кристина",
    "Надежда", "Людмила", "Галина", "Маргарита", "Варвара", "Василиса", "Ульяна", "Вера",
    "Любовь", "Евгения", "Алина", "Диана", "Яна", "Оксана", "Зоя", "Нина", "Тамара",
]  # fmt: skip
# (male, female) patronymics
_PATRONYMICS = [
    ("Александрович", "Александровна"), ("Дмитриевич", "Дмитриевна"),
    ("Сергеевич", "Сергеевна"), ("Андреевич", "Андреевна"), ("Алексеевич", "Алексеевна"),
    ("Михайлович", "Михайловна"), ("Иванович", "Ивановна"), ("Владимирович", "Владимировна"),
    ("Николаевич", "Николаевна"), ("Павлович", "Павловна"), ("Игоревич", "Игоревна"),
    ("Викторович", "Викторовна"), ("Юрьевич", "Юрьевна"), ("Олегович", "Олеговна"),
    ("Евгеньевич", "Евгеньевна"), ("Петрович", "Петровна"), ("Васильевич", "Васильевна"),
    ("Анатольевич", "Анатольевна"), ("Константинович", "Константиновна"),
    ("Романович", "Романовна"), ("Максимович", "Максимовна"), ("Фёдорович", "Фёдоровна"),
    ("Геннадьевич", "Геннадьевна"), ("Борисович", "Борисовна"), ("Денисович", "Денисовна"),
    ("Артёмович", "Артёмовна"), ("Ильич", "Ильинична"), ("Георгиевич", "Георгиевна"),
]  # fmt: skip
# Russian mobile operator codes (+7 9xx).
_MOBILE_CODES = [
    "900", "901", "902", "903", "904", "905", "906", "908", "909", "910", "911", "912",
    "913", "914", "915", "916", "917", "918", "919", "920", "921", "922", "925", "926",
    "927", "928", "929", "930", "931", "950", "951", "952", "953", "960", "961", "962",
    "963", "964", "965", "967", "977", "980", "981", "982", "983", "985", "987", "988",
    "991", "993", "995", "996", "999",
]  # fmt: skip
_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o",
            "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e",
            "yu", "ya",
        ],
        strict=True,
    )
)  # fmt: skip
_MAIL_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "inbox.ru", "bk.ru", "list.ru"]


def _female_last_name(name: str) -> str:
    if name.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return name + "а"
    if name.endswith("ский"):
        return name[:-2] + "ая"
    return name


def fake_patient_row(
    rng: random.Random, now: datetime.datetime, branch_ids: list[int], *, null: str
) -> list[str]:
    """One row for ``patients_bulk_generate``'s COPY, in its column order."""
    female = rng.random() < 0.55
    last_name = rng.choice(_MALE_LAST_NAMES)
    patronymic = rng.choice(_PATRONYMICS)
    if female:
        last_name = _female_last_name(last_name)
        first_name, middle_name = rng.choice(_FEMALE_FIRST_NAMES), patronymic[1]
    else:
        first_name, middle_name = rng.choice(_MALE_FIRST_NAMES), patronymic[0]
    if rng.random() < 0.03:
        middle_name = ""
    birth_date = datetime.date(1935, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 88))
    phone = "+7" + rng.choice(_MOBILE_CODES) + f"{rng.randrange(10**7):07d}"
    email = ""
    if rng.random() < 0.45:
        latin = "".join(_TRANSLIT.get(ch, ch) for ch in last_name.lower())
        email = f"{latin}.{birth_date.year}{rng.randrange(100)}@{rng.choice(_MAIL_DOMAINS)}"
    channel = rng.choices(["sms", "telegram", "email", "phone_call", ""], [40, 25, 10, 10, 15])[0]
    telegram = str(rng.randrange(10**8, 10**10)) if channel == "telegram" else ""
    source = rng.choices(
        ["website", "phone", "messenger", "referral", "walk_in", "other", ""],
        [30, 25, 15, 15, 8, 2, 5],
    )[0]
    time_zone = rng.choices(
        [DEFAULT_TIME_ZONE, "Europe/Samara", "Asia/Yekaterinburg", "Asia/Novosibirsk"],
        [90, 4, 4, 2],
    )[0]
    created = now - datetime.timedelta(seconds=rng.randrange(0, 5 * 365 * 86400))
    return [
        last_name,
        first_name,
        middle_name,
        birth_date.isoformat(),
        phone,
        email,
        channel,
        Language.ENGLISH if rng.random() < 0.03 else Language.RUSSIAN,
        time_zone,
        source,
        telegram,
        "t" if rng.random() < 0.02 else "f",
        "f",
        str(rng.choice(branch_ids)) if branch_ids else null,
        created.isoformat(),
        created.isoformat(),
    ]


_COPY_COLUMNS = [
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "phone",
    "email",
    "preferred_channel",
    "preferred_language",
    "time_zone",
    "source",
    "telegram_chat_id",
    "is_archived",
    "is_deceased",
    "home_branch_id",
    "created_at",
    "updated_at",
]
_NULL = r"\N"


@transaction.atomic
def patients_bulk_generate(
    *,
    count: int,
    batch_size: int = 10_000,
    progress: Callable[[int, int], None] | None = None,
    seed: int | None = None,
    branch_ids: list[int] | None = None,
) -> int:
    """Inserts ``count`` realistic Russian patients with PostgreSQL COPY, for demo and
    load-test databases (a million rows in about a minute). Returns the number inserted.

    Rows are what ``patient_create`` would store: phones valid and in E.164, the time zone
    a real one; ``search_name`` is a generated column, so PostgreSQL computes it exactly
    as for any other insert. No audit rows are written: nobody's record was touched.
    Patients are spread over ``branch_ids`` (all branches when not given).
    """
    if count < 0 or batch_size < 1:
        raise PatientError(_("The count must be zero or more and the batch size positive."))
    rng = random.Random(seed)  # noqa: S311 - fake data, not a secret
    if branch_ids is None:
        branch_ids = list(Branch.objects.values_list("pk", flat=True))
    now = timezone.now()
    sql = (
        f"COPY {Patient._meta.db_table} ({', '.join(_COPY_COLUMNS)}) "
        f"FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')"
    )
    done = 0
    with connection.cursor() as cursor:
        while done < count:
            size = min(batch_size, count - done)
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            for _i in range(size):
                writer.writerow(fake_patient_row(rng, now, branch_ids, null=_NULL))
            buffer.seek(0)
            cursor.copy_expert(sql, buffer)
            done += size
            if progress is not None:
                progress(done, count)
    return done
