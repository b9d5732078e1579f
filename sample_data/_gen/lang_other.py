"""Well-written pages in languages outside the sample keep-list: Italian, Portuguese, Dutch, Russian.

They are good pages in every other respect, so a language filter (not a quality rule) has to be
what removes them. One genre each (travel notes about an invented town) is enough for that role.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

from .engine import Genre, Section, names


def _pack(
    code: str, towns: tuple[str, ...], people: tuple[str, ...], pools: dict, genre: Genre
) -> SimpleNamespace:
    def context(rng: random.Random) -> dict[str, str]:
        return {
            "town": rng.choice(towns),
            "town2": rng.choice(towns),
            "person": rng.choice(people),
            "mins": str(rng.randint(10, 45)),
            "price": str(rng.randint(4, 19)),
            "year": str(rng.randint(1600, 1890)),
        }

    return SimpleNamespace(CODE=code, JOIN=" ", POOLS=pools, context=context, GENRES={"travel": genre})


IT = _pack(
    "it",
    names("Roccalba Valfiorita Montecervo Borgoleone Pietrasanta Castelmoro Fontebella Acquaviva"),
    ("Giulia Ferri", "Marco Bellini", "Chiara Conti", "Luca Moretti", "Sara Gallo", "Paolo Rinaldi"),
    {"piatto": ("la zuppa di farro", "i tortelli di zucca", "la torta di noci", "il risotto ai funghi")},
    Genre(
        name="travel",
        titles=("Due giorni a {town}", "Un fine settimana a {town}", "{town} a piedi: note di viaggio"),
        intro=Section(
            (
                "Volevo visitare {town} da [anni|molto tempo], e finalmente quest'anno ci sono [riuscito|andato].",
                "{town} è un [piccolo|tranquillo] borgo sulle colline, a circa {mins} minuti da {town2}.",
                "Molti viaggiatori [passano|attraversano] {town} senza fermarsi, ed è davvero un peccato.",
                "Ecco un breve racconto del nostro soggiorno, con qualche consiglio per chi volesse fare lo stesso viaggio.",
            ),
            pick=(3, 4),
        ),
        middle=(
            Section(
                (
                    "Arrivarci è semplice: il treno regionale si ferma [ogni ora|più volte al giorno] alla stazione del paese.",
                    "Dalla stazione al centro storico ci vogliono dieci minuti a piedi, lungo una strada di case antiche.",
                    "Chi arriva in macchina fa bene a parcheggiare fuori dalle mura, perché le vie del centro sono strette e ripide.",
                    "Il biglietto da {town2} costa circa {price} euro e il panorama sulla valle è [splendido|bellissimo].",
                ),
                pick=(2, 3),
            ),
            Section(
                (
                    "Il monumento più famoso è la torre dell'orologio, costruita nel {year} e restaurata di recente.",
                    "Non perdete il vecchio mulino sul fiume, dove i volontari raccontano la storia del paese con grande passione.",
                    "Nelle viuzze si trovano una panetteria, una libreria e alcune case con i portoni di legno intagliato.",
                    "Dall'alto della collina si vede tutto il paese e, nelle giornate limpide, anche le montagne.",
                ),
                pick=(2, 4),
            ),
            Section(
                (
                    "A pranzo bisogna assaggiare {piatto}, una specialità che si trova in quasi tutte le trattorie.",
                    "Abbiamo mangiato in una piccola osteria vicino alla piazza, dove il servizio era gentile e i prezzi onesti.",
                    "Al mercato del sabato si vendono formaggi, miele e frutta delle campagne vicine.",
                    "Abbiamo dormito in un agriturismo gestito da {person}, che conosce ogni angolo della zona.",
                ),
                pick=(2, 4),
            ),
        ),
        outro=Section(
            (
                "In conclusione, {town} è stata una bellissima sorpresa e ci tornerò volentieri in primavera.",
                "Non è un posto per la vita notturna, ma per un fine settimana tranquillo è perfetto.",
            ),
            pick=(1, 2),
        ),
        middle_pick=(3, 3),
    ),
)

PT = _pack(
    "pt",
    names("Vilarinho Serrazes Fontelonga Penamar Aldeiafria Ribaseca Montemuro Tojeira"),
    ("Ana Ferreira", "João Carvalho", "Inês Rodrigues", "Rui Pereira", "Marta Sousa", "Tiago Lopes"),
    {"prato": ("o caldo verde da casa", "o arroz de pato", "o bolo de nozes", "a sopa de castanhas")},
    Genre(
        name="travel",
        titles=("Dois dias em {town}", "Um fim de semana em {town}", "{town} a pé: notas de viagem"),
        intro=Section(
            (
                "Há [anos|muito tempo] que queria conhecer {town}, e este ano finalmente consegui ir.",
                "{town} é uma [pequena|tranquila] vila na serra, a cerca de {mins} minutos de {town2}.",
                "Muitos viajantes passam por {town} sem parar, o que é realmente uma pena.",
                "Aqui fica um pequeno relato da nossa estadia, com alguns conselhos para quem quiser fazer a mesma viagem.",
            ),
            pick=(3, 4),
        ),
        middle=(
            Section(
                (
                    "Chegar lá é fácil: o comboio regional pára [de hora a hora|várias vezes por dia] na estação da vila.",
                    "Da estação ao centro histórico são dez minutos a pé, por uma rua de casas antigas.",
                    "Quem vier de carro deve estacionar fora das muralhas, porque as ruas do centro são estreitas e íngremes.",
                    "O bilhete desde {town2} custa cerca de {price} euros e a vista sobre o vale é [magnífica|lindíssima].",
                ),
                pick=(2, 3),
            ),
            Section(
                (
                    "O monumento mais conhecido é a torre do relógio, construída em {year} e recuperada há pouco tempo.",
                    "Não percam o velho moinho junto ao rio, onde os voluntários contam a história da vila com muito entusiasmo.",
                    "Nas ruelas há uma padaria, uma livraria e algumas casas com portas de madeira trabalhada.",
                    "Do alto do monte vê-se a vila inteira e, nos dias limpos, também as serras ao longe.",
                ),
                pick=(2, 4),
            ),
            Section(
                (
                    "Ao almoço, é obrigatório provar {prato}, uma especialidade que quase todas as tascas servem.",
                    "Comemos numa pequena taberna perto da praça, onde fomos muito bem atendidos e os preços eram justos.",
                    "No mercado de sábado vendem-se queijos, mel e fruta das quintas vizinhas.",
                    "Ficámos numa casa de turismo rural gerida por {person}, que conhece cada canto da região.",
                ),
                pick=(2, 4),
            ),
        ),
        outro=Section(
            (
                "Em resumo, {town} foi uma ótima surpresa e voltarei com todo o gosto na primavera.",
                "Não é um sítio para vida noturna, mas para um fim de semana sossegado é perfeito.",
            ),
            pick=(1, 2),
        ),
        middle_pick=(3, 3),
    ),
)

NL = _pack(
    "nl",
    names("Eikendonk Wilgenrade Heiloo-aan-Zee Brakelveen Rozendijk Veldhoven-Oost Hazelbroek Molenwaard"),
    ("Sanne de Vries", "Daan Jansen", "Eva Bakker", "Bram Visser", "Lotte Smit", "Joris Mulder"),
    {
        "gerecht": (
            "de erwtensoep",
            "de appeltaart met noten",
            "de gerookte paling",
            "de stamppot met boerenkool",
        )
    },
    Genre(
        name="travel",
        titles=("Twee dagen in {town}", "Een weekend in {town}", "{town} te voet: reisnotities"),
        intro=Section(
            (
                "Ik wilde al [jaren|heel lang] naar {town}, en dit jaar is het er eindelijk van gekomen.",
                "{town} is een [klein|rustig] stadje aan de rivier, ongeveer {mins} minuten van {town2}.",
                "Veel reizigers rijden zonder te stoppen door {town}, en dat is eigenlijk heel jammer.",
                "Hieronder een kort verslag van ons verblijf, met een paar tips voor wie dezelfde reis wil maken.",
            ),
            pick=(3, 4),
        ),
        middle=(
            Section(
                (
                    "Er komen is eenvoudig: de stoptrein stopt [elk uur|een paar keer per dag] op het station van het stadje.",
                    "Van het station naar het oude centrum is het tien minuten lopen, langs een straat met oude huizen.",
                    "Wie met de auto komt, parkeert het best buiten de oude wallen, want de straatjes in het centrum zijn smal.",
                    "Een kaartje vanuit {town2} kost ongeveer {price} euro en het uitzicht over de polders is [prachtig|schitterend].",
                ),
                pick=(2, 3),
            ),
            Section(
                (
                    "Het bekendste gebouw is de klokkentoren, gebouwd in {year} en onlangs gerestaureerd.",
                    "Mis de oude watermolen aan de rivier niet, waar vrijwilligers met veel enthousiasme over de geschiedenis vertellen.",
                    "In de steegjes vind je een bakker, een boekwinkel en een paar huizen met mooi bewerkte houten deuren.",
                    "Vanaf de dijk zie je het hele stadje liggen en bij helder weer zelfs de kerktorens van de buurdorpen.",
                ),
                pick=(2, 4),
            ),
            Section(
                (
                    "Voor de lunch moet je zeker {gerecht} proberen, een specialiteit die bijna elk café serveert.",
                    "We aten in een klein eetcafé bij het plein, waar de bediening vriendelijk was en de prijzen eerlijk.",
                    "Op de zaterdagmarkt verkopen ze kaas, honing en fruit van de boerderijen in de buurt.",
                    "We sliepen in een bed and breakfast van {person}, die alles weet over de omgeving.",
                ),
                pick=(2, 4),
            ),
        ),
        outro=Section(
            (
                "Kortom, {town} was een heel aangename verrassing en ik ga er in het voorjaar graag nog eens naartoe.",
                "Het is geen plek voor het nachtleven, maar voor een rustig weekend is het perfect.",
            ),
            pick=(1, 2),
        ),
        middle_pick=(3, 3),
    ),
)

RU = _pack(
    "ru",
    (
        "Берёзовка",
        "Красноречье",
        "Сосновый Бор",
        "Липецкое",
        "Озёрки",
        "Старый Ключ",
        "Малиновка",
        "Зареченск",
    ),
    ("Анна Смирнова", "Иван Кузнецов", "Мария Попова", "Сергей Волков", "Ольга Морозова", "Дмитрий Орлов"),
    {"blyudo": ("уху из речной рыбы", "пироги с капустой", "гречневую кашу с грибами", "медовый пряник")},
    Genre(
        name="travel",
        titles=("Два дня в городке {town}", "Выходные в городке {town}", "{town}: путевые заметки"),
        intro=Section(
            (
                "Я [давно|много лет] хотел побывать в городке {town}, и в этом году наконец туда съездил.",
                "{town} — [небольшой|тихий] городок на берегу реки, примерно в {mins} минутах езды от соседнего райцентра.",
                "Многие путешественники проезжают мимо, не останавливаясь, и это очень жаль.",
                "Ниже короткий рассказ о нашей поездке и несколько советов для тех, кто захочет повторить маршрут.",
            ),
            pick=(3, 4),
        ),
        middle=(
            Section(
                (
                    "Добраться туда несложно: электричка останавливается на местной станции [каждый час|несколько раз в день].",
                    "От станции до старого центра около десяти минут пешком по улице со старыми деревянными домами.",
                    "Тем, кто едет на машине, лучше оставить её у въезда в город, потому что улочки в центре узкие и крутые.",
                    "Билет стоит около {price}0 рублей, а из окна поезда открывается [прекрасный|чудесный] вид на долину.",
                ),
                pick=(2, 3),
            ),
            Section(
                (
                    "Главная достопримечательность — часовая башня, построенная в {year} году и недавно отреставрированная.",
                    "Обязательно загляните на старую водяную мельницу у реки, где волонтёры с увлечением рассказывают историю города.",
                    "В переулках есть пекарня, книжная лавка и несколько домов с резными наличниками.",
                    "С холма виден весь город, а в ясную погоду даже леса на другом берегу реки.",
                ),
                pick=(2, 4),
            ),
            Section(
                (
                    "На обед обязательно попробуйте {blyudo}: это блюдо подают почти в каждом кафе.",
                    "Мы обедали в маленьком трактире у площади, где нас очень тепло приняли, а цены были честными.",
                    "На субботнем рынке продают сыр, мёд и фрукты из соседних деревень.",
                    "Мы остановились в небольшом гостевом доме у реки, и хозяева знают здесь каждый уголок.",
                ),
                pick=(2, 4),
            ),
        ),
        outro=Section(
            (
                "В общем, этот городок оказался приятным сюрпризом, и весной я с удовольствием вернусь туда снова.",
                "Это не место для ночной жизни, но для спокойных выходных оно подходит идеально.",
            ),
            pick=(1, 2),
        ),
        middle_pick=(3, 3),
    ),
)

PACKS = {"it": IT, "pt": PT, "nl": NL, "ru": RU}
