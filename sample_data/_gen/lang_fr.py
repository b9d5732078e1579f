"""Banque de phrases en français : villes, personnes et produits inventés, cinq genres de pages.

Toutes les phrases ont été écrites pour les données d'exemple de curate. Les lieux, les
personnes, les marques et les événements sont inventés.
"""

from __future__ import annotations

import random

from .engine import Genre, Section, names

CODE = "fr"
JOIN = " "

_TOWN_HEAD = names("Mont Beau Ville Roche Clair Bel Fonte Val Champ Bois Pierre Haut Grand Font Serre Lande")
_TOWN_TAIL = names("fort mont val ville lieu roc court noir blanc fleury bourg vert sec lac")
_RIVER = names(
    "Vaubelle Vionne Merlise Cornette Sauvelle Taronne Brisette Loubière Camelle Verdonne Saulnette Saulce"
)
_FIRST = names(
    "Camille Julien Claire Thomas Léa Hugo Chloé Louis Manon Lucas Élise Paul Inès Antoine Margaux "
    "Nicolas Sophie Mathieu Jeanne Pierre Hélène Olivier Isabelle Bernard"
)
_LAST = names(
    "Martin Bernard Dubois Moreau Laurent Girard Roux Fournier Morel Mercier Blanc Guérin Faure "
    "Chevalier Garnier Lambert Fontaine Rousseau Vincent Leclerc Perrin Gauthier"
)
# (sujet, après « à », après « de »)
_SIGHTS = (
    ("le vieux moulin", "au vieux moulin", "du vieux moulin"),
    ("la tour de l'horloge", "à la tour de l'horloge", "de la tour de l'horloge"),
    ("la halle couverte", "à la halle couverte", "de la halle couverte"),
    ("l'église Saint-Aldric", "à l'église Saint-Aldric", "de l'église Saint-Aldric"),
    ("le pont de pierre", "au pont de pierre", "du pont de pierre"),
    ("la grange dîmière", "à la grange dîmière", "de la grange dîmière"),
    ("le musée municipal", "au musée municipal", "du musée municipal"),
    ("le prieuré", "au prieuré", "du prieuré"),
    ("le lavoir", "au lavoir", "du lavoir"),
    ("le jardin clos", "au jardin clos", "du jardin clos"),
    ("l'ancienne gare", "à l'ancienne gare", "de l'ancienne gare"),
    ("le moulin à vent", "au moulin à vent", "du moulin à vent"),
    ("la maison du passeur", "à la maison du passeur", "de la maison du passeur"),
)
_TRADES = (
    "la laine",
    "le sel",
    "le cuir",
    "la toile",
    "le bois",
    "le vin",
    "la poterie",
    "la dentelle",
    "l'ardoise",
    "le fromage",
)
_DISHES = (
    "la tourte à la truite",
    "la soupe aux poireaux",
    "le gâteau aux noix",
    "le ragoût d'agneau",
    "la galette aux pommes de terre",
    "la tarte aux poires",
    "le gratin de courge",
    "la potée aux choux",
    "le clafoutis aux prunes",
)
_MONTHS = names("janvier février mars avril mai juin juillet août septembre octobre novembre décembre")
_WEEKDAYS = names("lundi mardi mercredi jeudi vendredi samedi dimanche")


def town(rng: random.Random) -> str:
    name = rng.choice(_TOWN_HEAD) + rng.choice(_TOWN_TAIL)
    return name if rng.random() < 0.7 else f"{name}-sur-{rng.choice(_RIVER)}"


def context(rng: random.Random) -> dict[str, str]:
    s1, s2, s3 = rng.sample(_SIGHTS, 3)
    d1, d2 = rng.sample(_DISHES, 2)
    return {
        "town": town(rng),
        "town2": town(rng),
        "river": rng.choice(_RIVER),
        "person": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "person2": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "founded": str(rng.randint(1080, 1690)),
        "year": str(year := rng.randint(1780, 1899)),
        "year_rail": str(min(year + rng.randint(8, 40), 1899)),  # after the disaster of {year}
        "year2": str(rng.randint(1900, 1975)),
        "year3": str(rng.randint(1976, 2019)),
        "sight": s1[0],
        "sight_a": s1[1],
        "sight_de": s1[2],
        "sight2": s2[0],
        "sight2_a": s2[1],
        "sight3_a": s3[1],
        "trade": rng.choice(_TRADES),
        "dish": d1,
        "dish2": d2,
        "month": rng.choice(_MONTHS),
        "weekday": rng.choice(_WEEKDAYS),
        "mins": str(rng.randint(10, 45)),
        "price": str(rng.randint(4, 19)),
        "paper": rng.choice(("Courrier", "Écho", "Journal", "Petit Messager", "Réveil")),
    }


POOLS: dict[str, tuple[str, ...]] = {
    "meteo": (
        "sous une pluie fine",
        "sous un grand soleil",
        "par un vent froid",
        "dans le brouillard",
        "par un temps doux",
    ),
    "boutique": (
        "une boulangerie",
        "une librairie",
        "une quincaillerie",
        "un salon de thé",
        "un fleuriste",
        "une fromagerie",
    ),
    "produit_local": (
        "du pain frais",
        "du fromage de chèvre",
        "du miel",
        "du jus de pomme",
        "de la charcuterie",
        "des noix",
    ),
    "nombre": ("deux", "trois", "quatre", "cinq", "six"),
    "groupe": (
        "le conseil municipal",
        "l'association du patrimoine",
        "un groupe de bénévoles",
        "le comité des fêtes",
    ),
    "batiment": ("la médiathèque", "la piscine", "la salle des fêtes", "l'école primaire", "le stade"),
}

_TRAVEL = Genre(
    name="travel",
    titles=(
        "[Deux|Trois|Quelques] jours à {town}",
        "Un [week-end|court séjour] à {town}",
        "Carnet de voyage : {town} et les bords de la {river}",
        "{town} à pied : [notes|souvenirs] d'un [court|beau] séjour",
    ),
    intro=Section(
        (
            (
                "Cela faisait [des années|longtemps] que je [voulais|rêvais de] découvrir {town}, et [ce mois de {month}|cette année], je me suis [enfin|finalement] décidé.",
                "[Depuis le temps que|Voilà des années que] j'en entendais parler, je suis [enfin|finalement] allé à {town} [en {month}|ce printemps|cet automne].",
            ),
            "{town} est une [petite ville|ville paisible|ville discrète] [au bord de|sur les rives de] la {river}, à [environ|à peu près] {mins} minutes de {town2}.",
            "[La plupart des|Beaucoup de|Bien des] [voyageurs|visiteurs] ne font que [traverser|passer par] {town}, et c'est [bien dommage|une erreur|un tort].",
            "Nous sommes arrivés {meteo}, [fatigués|affamés|un peu perdus], mais [curieux|de bonne humeur|ravis d'être là].",
            "[Voici|Je vous propose] un [petit|court|modeste] [récit|compte rendu] de [notre|mon] séjour, avec [quelques|plusieurs] [conseils|astuces] pour [celles et ceux|les lecteurs] qui [voudraient|aimeraient] [faire le même voyage|y aller].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "[Pour venir|Pour y aller], rien de plus [simple|facile] : le train régional s'arrête [toutes les heures|plusieurs fois par jour] [près de la place|à la gare].",
                "La gare est à [dix|quinze] minutes [à pied|de marche] du centre, [par une rue bordée de|en passant devant] [vieilles maisons|petits jardins|jardins ouvriers].",
                "Si vous [venez|arrivez] en voiture, [garez-vous|laissez-la] [à l'entrée de la ville|près de la rivière|derrière l'église], car les ruelles du [centre|vieux quartier] sont [étroites|en pente|très raides].",
                "Le billet [depuis|au départ de] {town2} [coûte|revient à] [environ|à peu près] {price} euros, et la vue sur [la vallée|les collines] [est superbe|vaut le détour].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Le [monument|bâtiment] le plus [connu|célèbre|photographié] est [sans doute|certainement] {sight}, [fierté|symbole] de [la ville|tout le pays].",
                "Ne manquez pas {sight2} : les [bénévoles|guides] [racontent|expliquent] son histoire avec [beaucoup de passion|humour|une grande patience].",
                "Un [sentier|chemin] part [du bord de l'eau|de la place] et [longe|suit] la {river} jusqu'{sight3_a}, sur {nombre} kilomètres [environ|à peu près].",
                "L'entrée est [gratuite|à quelques euros], et le {weekday}, il y a [très peu de monde|presque personne|peu de visiteurs].",
                "Dans les [ruelles|petites rues], on [trouve|découvre] {boutique}, {boutique} et [plusieurs|quelques] maisons [anciennes|à colombages] aux portes [sculptées|peintes].",
                "Du haut de la [colline|tour], on [voit|aperçoit] [toute la ville|les toits du centre] et, par temps clair, [les montagnes|toute la vallée|les forêts voisines].",
            ),
            pick=(2, 4),
        ),
        Section(
            (
                "Au [déjeuner|dîner], [goûtez|commandez] {dish}, une spécialité [locale|de la région] que [presque tous|la plupart] des [restaurants|bistrots] [proposent|servent].",
                (
                    "Nous avons [mangé|déjeuné] dans une [petite|modeste] [auberge|brasserie] [près de|au bord de] la {river}, où {dish2} était [excellent|délicieux] et le service [très aimable|chaleureux].",
                    "[Un soir|Le premier soir], [nous avons testé|nous avons choisi] [un bistrot|une auberge] [de la place|du quartier] : {dish2} [y était|était] [parfait|copieux], et [l'accueil|le patron] [adorable|très sympathique].",
                ),
                "Le marché du [samedi|dimanche matin] [propose|offre] {produit_local}, {produit_local} et [des fruits|des légumes] [de la vallée|des fermes voisines].",
                "Les prix sont [raisonnables|corrects|doux] : [un plat du jour|une assiette complète] [coûte|revient à] [environ|autour de] {price} euros.",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "Nous avons [dormi|logé] dans une [petite|charmante] [chambre d'hôtes|maison d'hôtes] tenue par {person}, qui [connaît|raconte] [tout de la ville|chaque rue par cœur].",
                "En {month}, les chambres sont [rares|vite complètes], alors [réservez tôt|pensez à réserver à l'avance|ne tardez pas].",
                "La chambre était [simple mais propre|petite mais confortable], et le [petit-déjeuner|matin, le petit-déjeuner] comprenait [de la confiture maison|des œufs de la ferme|du pain encore tiède].",
            ),
            pick=(1, 2),
        ),
        Section(
            (
                "[Petit conseil|À savoir] : [beaucoup de commerces ferment|plusieurs cafés ferment|le musée ferme] [tôt|à l'heure du déjeuner] le {weekday}.",
                "Prévoyez [de bonnes chaussures|un imperméable], car les [chemins|sentiers] [autour de|près de] {town} sont [glissants|caillouteux] [par endroits|après la pluie].",
                "L'office de tourisme [prête|distribue] des cartes [gratuites|détaillées] et [aide volontiers|donne des conseils] [pour les horaires de bus|pour organiser les balades].",
                "Avec [une journée|un jour] de plus, [montez|partez à vélo] [vers les collines|jusqu'aux hameaux voisins] et [revenez|rentrez] par [les bords de la {river}|le chemin de halage].",
            ),
            pick=(1, 3),
        ),
    ),
    outro=Section(
        (
            "[En somme|Au final|Tout compte fait], {town} a été une [belle|très bonne|vraie] surprise.",
            "J'y [retournerai|reviendrai] [volontiers|avec plaisir], [peut-être|sans doute] [au printemps|en automne], quand il y a [moins de visiteurs|moins de monde].",
            "Ce n'est pas [un endroit|une ville] pour [faire la fête|faire du shopping], mais pour un week-end [tranquille|au calme], c'est [parfait|idéal].",
        ),
        pick=(1, 2),
    ),
)

_HISTORY = Genre(
    name="history",
    titles=(
        "Une brève histoire de {town}",
        "Comment {town} est [devenue une ville|née]",
        "{town}, [de {founded} à nos jours|à travers les siècles]",
    ),
    intro=Section(
        (
            (
                "{town} [apparaît|est mentionnée] pour la première fois dans [une charte|un acte] de {founded}, alors qu'il ne s'agissait que [de quelques fermes|d'un hameau] [au bord de|le long de] la {river}.",
                "Le [plus ancien|premier] document qui [cite|nomme] {town} date de {founded} : on y [parle|lit le nom] d'[un simple hameau|une poignée de fermes] [près de|sur] la {river}.",
            ),
            "[Peu de villes|Rares sont les villes] de [cette taille|cette importance] [qui ont|à avoir] une histoire aussi [riche|mouvementée] que [celle de {town}|{town}].",
            "Le nom [de la ville|de {town}] viendrait d'un [vieux mot|ancien terme] [désignant|qui signifiait] un [gué|pré|défrichement] [près de l'eau|au bord de la rivière].",
            "[Les historiens|Les érudits locaux] [pensent|estiment] que les [premiers|tout premiers] [habitants|paysans] se sont [installés|établis] [sur les bords de|près de] la {river} bien avant {founded}.",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "Au Moyen Âge, la ville vivait [surtout|avant tout] du commerce [de|lié à] {trade}, que l'on [transportait|expédiait] [sur la {river}|par la rivière] [jusqu'aux grands marchés|vers la côte].",
                "Un marché [hebdomadaire|annuel] fut [autorisé|accordé] [au siècle suivant|peu après], et l'on bâtit {sight} [à la même époque|quelques années plus tard].",
                "Des marchands [venus de|originaires de] {town2} [s'installèrent|s'établirent] [près du pont|autour de la place], et [certaines|plusieurs] de leurs caves [existent encore|se visitent aujourd'hui].",
                "Le prieuré possédait [une grande partie|la plupart] des terres et [exploitait|gérait] les [moulins|fours] et les [étangs|vergers].",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "En {year}, un [grand incendie|terrible orage|violent incendie] [détruisit|ravagea] [des dizaines de|nombreuses] maisons [près de|le long de] la {river}.",
                "La reconstruction [dura|prit] [des années|plusieurs décennies], et [beaucoup de|la plupart des] maisons [à pans de bois|en bois] furent [rebâties|refaites] en [pierre|brique].",
                (
                    "Après la catastrophe, le conseil fit [élargir|redresser] la grand-rue et [construire|bâtir] un [second|nouveau] pont.",
                    "[Pour éviter un nouveau drame|Tirant les leçons du désastre], les échevins [ordonnèrent|décidèrent] d'[élargir|aérer] les rues et de [jeter|construire] un [deuxième|autre] pont sur la {river}.",
                ),
                "Des [lettres|chroniques] de l'époque [décrivent|évoquent] des familles [hébergées|logées] pendant [des mois|tout un hiver] {sight3_a}.",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Le chemin de fer [arriva|atteignit] {town} en {year_rail}, et en [une génération|quelques décennies] la population [doubla|augmenta fortement].",
                "De petits [ateliers|entrepôts] [s'installèrent|apparurent] [près de|autour de] la gare et [donnèrent|fournirent] du travail à [des centaines|beaucoup] de familles.",
                "On construisit des maisons ouvrières [en brique|au sud de la rivière], [puis|ensuite] une [école|salle de lecture] et une [chapelle|coopérative].",
                (
                    "Tout le monde n'appréciait pas ces changements : dans le journal local, des lecteurs se plaignaient de [la fumée|la suie] et du [bruit|vacarme].",
                    "[Certains habitants|Une partie de la population] [voyaient|regardaient] ces [nouveautés|transformations] d'un [mauvais œil|œil inquiet], et le [courrier des lecteurs|journal] en [témoigne|garde la trace].",
                ),
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "En {year2}, la plupart des [anciens ateliers|vieux métiers] avaient [fermé|disparu], et {town} se [tourna|retourna] vers [l'agriculture|le tourisme].",
                "En {year2}, {groupe} [sauva|préserva] {sight2} de la démolition, [sous la conduite de|avec l'aide de] {person}.",
                "La [petite ligne|ligne secondaire] de chemin de fer [ferma|disparut] en {year2}, mais un car [relie toujours|dessert encore] la ville [à|depuis] {town2}.",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "Aujourd'hui, {town} compte [environ|près de] {nombre} mille habitants, et son passé se [lit|devine] [encore|toujours] dans [les rues du centre|ses ruelles|les façades du centre].",
            "{groupe} [conserve|rassemble] de vieilles [photographies|cartes postales] et [publie|édite] [chaque année|régulièrement] un [petit|modeste] bulletin.",
            (
                "Bien des questions restent ouvertes, et de nouvelles découvertes dans les caves et les jardins [complètent|enrichissent] encore cette histoire.",
                "[L'histoire de {town}|Ce récit] [n'est pas terminée|reste à écrire] : [chaque chantier|chaque fouille] [apporte|révèle] [son lot de|de nouvelles] [surprises|découvertes].",
            ),
        ),
        pick=(1, 2),
    ),
    ordered_middle=True,  # history runs forward in time
)

_NEWS = Genre(
    name="news",
    titles=(
        "{town} : le conseil municipal [approuve|vote] {projet}",
        "À {town}, {projet} [fait débat|divise les habitants]",
        "{town} : la {fete} attire [la foule|de nombreux visiteurs]",
    ),
    intro=Section(
        (
            "Le conseil municipal de {town} a [décidé|choisi], {weekday} soir, de [lancer|financer] {projet}.",
            "Les travaux [devraient commencer|débuteront] en {month}, a [indiqué|précisé] {person}, de la [commission des travaux|commission d'urbanisme].",
            "[Plus de|Près de] {nombre} cents [personnes|visiteurs] ont [participé à|assisté à] la {fete} {weekday} [dernier|passé].",
            "Le projet [fait débat|divise] [parmi les habitants|dans le quartier] [depuis plusieurs mois|depuis le printemps].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "Le coût [est estimé|est évalué] à [environ|près de] {nombre} cent mille euros, [financés|pris en charge] [en partie|en grande partie] par [une subvention régionale|des fonds publics].",
                "{person} a [rappelé|souligné] que [la commune|la ville] attendait [ce projet|une telle décision] depuis [des années|longtemps].",
                "Certains riverains [craignent|redoutent] [davantage de circulation|du bruit|des problèmes de stationnement] [près de|aux abords de] {batiment}.",
                "Une réunion publique [aura lieu|se tiendra] {weekday} à {batiment}, et [tous les habitants|chacun] y [sont invités|est le bienvenu].",
                "Les plans sont [exposés|affichés] dans le hall de {batiment} [jusqu'à la fin du mois de {month}|pendant tout le mois de {month}].",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "Les [organisateurs|bénévoles] ont [souligné|noté] que le temps [avait été clément|n'avait pas gâché la journée] et que les stands étaient [vides|dévalisés] [dès l'après-midi|avant seize heures].",
                "Les enfants se [pressaient|bousculaient] autour [d'un spectacle de marionnettes|d'une fanfare|des poneys] installés [près|à deux pas] {sight_de}.",
                "{person2}, [bénévole|membre du comité] depuis {nombre} ans, a [remercié|salué] [tous les bénévoles|les partenaires].",
                "Les bénéfices [seront reversés|iront] [à l'association des parents d'élèves|à la banque alimentaire|au club des jeunes].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Pendant les travaux, la circulation sera [coupée|perturbée] près {sight_de} [pendant plusieurs semaines|jusqu'à l'automne].",
                "Les automobilistes [sont invités à|devront] [suivre|emprunter] la déviation [par|via] {town2}.",
                "Le car [s'arrêtera|marquera l'arrêt] à un arrêt [provisoire|temporaire] [en face de|à côté de] {batiment} [jusqu'à la fin du chantier|pendant toute la durée des travaux].",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "[Une prochaine réunion est prévue|Un nouveau point d'étape est programmé] en {month}.",
            "Les habitants peuvent [envoyer leurs questions|faire part de leurs remarques] à la mairie [par courrier|via le site de la ville].",
            "Nous [suivrons|reviendrons sur] [l'évolution du dossier|ce projet] dans nos prochaines éditions.",
        ),
        pick=(1, 2),
    ),
    context=lambda rng: {
        "projet": rng.choice(
            (
                "une passerelle sur la {river}",
                "une nouvelle piste cyclable",
                "un skatepark",
                "l'agrandissement de la médiathèque",
                "un verger partagé",
                "la rénovation du toit de la halle",
                "des panneaux solaires sur l'école",
            )
        ),
        "fete": rng.choice(
            (
                "fête du printemps",
                "fête des vendanges",
                "course de canards",
                "foire aux livres",
                "fête de l'été",
            )
        ),
    },
)

_PRODUCTS = {
    "bouilloire": (
        "le couvercle s'ouvre d'un seul doigt",
        "l'indicateur de niveau se lit facilement",
        "un litre d'eau bout en un peu plus de trois minutes",
        "le socle ne chauffe pas",
    ),
    "lampe de bureau": (
        "le bras reste exactement là où on le place",
        "la lumière est douce et ne scintille pas",
        "l'intensité se règle sur plusieurs niveaux",
        "elle prend très peu de place sur le bureau",
    ),
    "enceinte portable": (
        "la batterie tient une semaine entière",
        "le son reste clair même à faible volume",
        "elle résiste aux éclaboussures",
        "la connexion se fait en quelques secondes",
    ),
    "veste de pluie": (
        "la capuche reste en place malgré le vent",
        "les coutures n'ont jamais laissé passer l'eau",
        "elle se range dans sa propre poche",
        "les poignets se resserrent facilement",
    ),
    "perceuse sans fil": (
        "elle tient bien en main",
        "la batterie se recharge en une heure",
        "le couple se règle avec précision",
        "la petite lampe éclaire bien la zone de travail",
    ),
}
_BRANDS = names("Norvane Kelto Brisa Altair Huxley Mondo Tamsin Orbel Quillon Vardo")


def _review_context(rng: random.Random) -> dict[str, str]:
    cat = rng.choice(sorted(_PRODUCTS))
    f1, f2, f3 = rng.sample(_PRODUCTS[cat], 3)
    return {
        "categorie": cat,
        "produit": f"{rng.choice(_BRANDS)} {rng.choice(('One', 'Lite', 'Pro', 'Home', 'Go'))} {rng.randint(2, 9)}",
        "f1": f1,
        "f2": f2,
        "f3": f3,
        "prix": str(rng.randint(19, 149)),
        "note": rng.choice(("trois", "quatre", "quatre", "cinq")),
        "duree": rng.choice(("deux semaines", "un mois", "six semaines", "trois mois", "six mois")),
    }


_REVIEW = Genre(
    name="review",
    titles=(
        "Test : {produit} ({categorie})",
        "{produit} : [notre|mon] avis après {duree}",
        "[Avis|Test complet] : {produit}, [un bon choix|un achat raisonnable] ?",
    ),
    intro=Section(
        (
            "J'ai [acheté|commandé] le modèle {produit} il y a {duree}, pour remplacer [mon ancien appareil|un vieil appareil] [tombé en panne|devenu trop vieux|qui fatiguait].",
            (
                "Ce modèle, une {categorie} [vendue|proposée] [environ|autour de] {prix} euros, se [situe|place] dans le [milieu|haut] de gamme.",
                "[Avec|À] [un prix|un tarif] [d'environ|proche de] {prix} euros, cette {categorie} [n'est ni la moins chère|n'est pas donnée], [sans être|ni] [un produit de luxe|hors de prix].",
            ),
            (
                "Il existe [beaucoup de|de nombreux] modèles moins chers, alors je voulais savoir si celui-ci [vaut vraiment son prix|mérite la différence].",
                "[Face aux|Vu les] [nombreuses|innombrables] [alternatives|offres] [moins chères|bon marché], [la question|ma question] était [simple|claire] : [la différence de prix|le supplément] se justifie-t-[il|elle] ?",
            ),
            "Ce [test|compte rendu] repose sur {duree} d'utilisation [quotidienne|régulière], [et non|pas] sur une [première impression|prise en main rapide].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "[Ce que j'ai remarqué en premier|La première chose qui m'a plu|Dès le départ, j'ai apprécié], c'est que {f1}.",
                "[Autre point positif :|Autre bon point :|Côté qualités,] {f2}.",
                "[À l'usage|Au quotidien|Après quelques semaines], on [constate|remarque] que {f3}, [ce qui compte plus qu'on ne le pense|un détail qui change la vie|et cela compte beaucoup].",
                "La finition est [soignée|solide|sérieuse], et rien ne s'est [desserré|abîmé|cassé] [jusqu'ici|pour l'instant].",
            ),
            pick=(2, 4),
        ),
        Section(
            (
                "[Tout n'est pas parfait pour autant|Il y a cependant quelques défauts|Quelques bémols, toutefois].",
                "La surface [garde|marque] [facilement|vite] les traces de doigts, [il faut donc|si bien qu'il faut] l'essuyer [souvent|de temps en temps].",
                "La notice est [très courte|trop succincte|un peu légère] et n'explique pas [tous les réglages|la garantie|l'entretien].",
                "Pour {prix} euros, j'aurais [aimé|apprécié] [une garantie plus longue|une housse de rangement|un second coloris].",
                "Le service client a [répondu à|traité] ma [question|demande] [en une journée|au bout de trois jours], ce qui [reste correct|est acceptable].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Par rapport à [mon ancien appareil|l'ancien modèle], [celui-ci|le {produit}] est [plus silencieux|plus léger|mieux fini] et [plus agréable|plus simple] à utiliser.",
                "[Un ami|Ma voisine|Mon frère] possède un modèle [moins cher|similaire], et [en comparaison directe|côte à côte], le {produit} s'en sort [nettement|clairement] mieux.",
                "Pour [un usage occasionnel|une utilisation ponctuelle], [un modèle d'entrée de gamme|une version moins chère] [suffira|fera l'affaire] [largement|sans doute].",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "[Au final|En résumé|Bilan], je [donne|mets] au {produit} la note de {note} étoiles sur cinq.",
            "Je le [recommande|conseille] à [tous ceux|toutes les personnes] qui [s'en servent|en ont besoin] [tous les jours|souvent].",
            "En promotion, ce serait [une excellente affaire|un très bon achat|un choix évident].",
        ),
        pick=(1, 2),
    ),
    context=_review_context,
)

_RECIPES = {
    "soupe": (
        (
            "poireaux",
            "carottes",
            "navets",
            "pommes de terre",
            "panais",
            "petits pois",
            "haricots blancs",
            "oignons",
        ),
        (
            (
                "[Laver|Rincer] les légumes et les [couper|tailler] en [petits morceaux|dés réguliers|rondelles fines].",
                "[Commencez par|D'abord,] [éplucher|peler] les légumes et les [tailler|couper] en dés d'[environ|à peu près] un centimètre.",
            ),
            (
                "Faire fondre [un peu de beurre|une noix de beurre] dans une [grande casserole|marmite] et y faire revenir les {i1} [cinq|huit|dix] minutes.",
                "Dans une [cocotte|grande casserole], chauffer [un filet d'huile|un peu de beurre] et faire suer les {i1} à feu [doux|moyen], [sans les colorer|en remuant souvent].",
            ),
            (
                "Ajouter les {i2} et les {i3}, puis [verser|mouiller avec] [un litre|un litre et demi] [de bouillon|de bouillon de légumes|d'eau].",
                "[Ensuite|Puis], [incorporer|jeter] les {i2} et les {i3} et couvrir le tout [de bouillon chaud|d'eau frémissante].",
            ),
            (
                "Porter à [ébullition|frémissement], puis laisser [mijoter|cuire] [vingt|trente|quarante] minutes à feu doux.",
                "Dès les premiers bouillons, [baisser|réduire] le feu et laisser cuire [doucement|tranquillement] [pendant une bonne demi-heure|environ trente-cinq minutes].",
            ),
            (
                "[Saler, poivrer|Assaisonner] et [mixer|écraser] [une partie de la soupe|la moitié] [si l'on aime|selon les goûts].",
                "[Pour finir|À la fin], rectifier l'assaisonnement et [mixer|passer] la soupe [à moitié|entièrement], selon la texture [souhaitée|que vous préférez].",
            ),
        ),
    ),
    "gâteau": (
        ("pommes", "noix", "poires", "prunes", "noisettes", "raisins secs", "amandes", "figues"),
        (
            (
                "[Préchauffer|Allumer] le four à [170|180] degrés et [beurrer|fariner] un moule [rond|carré|à manqué].",
                "Allumer le four à [170|180] degrés et [chemiser|tapisser] un moule de papier [cuisson|sulfurisé].",
            ),
            (
                "[Battre|Fouetter] [150|200] grammes de beurre [mou|pommade] avec le même poids de sucre [jusqu'à ce que le mélange blanchisse|jusqu'à obtenir une crème claire].",
                "Travailler le beurre et le sucre [à parts égales|en même quantité] [jusqu'à obtenir|pour obtenir] une crème [pâle|légère|mousseuse].",
            ),
            (
                "Ajouter [trois|quatre] œufs un par un, puis [incorporer|tamiser] [200|250] grammes de farine et un sachet de levure.",
                "Incorporer les œufs l'un après l'autre, puis la farine et la levure, [sans trop travailler la pâte|en mélangeant juste ce qu'il faut].",
            ),
            (
                "Ajouter [délicatement|avec douceur] les {i1} et les {i2} [à la pâte|au mélange].",
                "[Enfin|Pour terminer], [mélanger|incorporer] [doucement|à la spatule] les {i1} et les {i2} [à la préparation|dans la pâte].",
            ),
            (
                "[Verser|Répartir] dans le moule et [enfourner|cuire] [quarante|quarante-cinq] minutes, jusqu'à ce que la lame d'un couteau [ressorte sèche|ressorte propre].",
                "Verser la pâte, [lisser|égaliser] le dessus et cuire [environ|à peu près] [quarante|cinquante] minutes ; [vérifier|contrôler] la cuisson avec [un couteau|une pique].",
            ),
            (
                "Laisser [refroidir|tiédir] [avant de démouler|un moment avant de servir].",
                "Attendre [au moins|environ] [vingt|trente] minutes avant de [démouler|couper] le gâteau.",
            ),
        ),
    ),
    "ragoût": (
        ("champignons", "oignons", "carottes", "navets", "châtaignes", "lardons", "échalotes", "panais"),
        (
            (
                "Couper [la viande|le bœuf] en [gros morceaux|cubes] et les [fariner|saupoudrer de farine] légèrement.",
                "[D'abord,|Pour commencer,] détailler [la viande|le bœuf] en cubes d'environ [trois|quatre] centimètres et les rouler dans un peu de farine.",
            ),
            (
                "Faire dorer les morceaux [en plusieurs fois|par petites quantités] dans une [poêle|cocotte] bien chaude, puis les [réserver|mettre de côté].",
                "Saisir la viande [à feu vif|dans une cocotte très chaude], quelques morceaux à la fois, puis la [mettre de côté|réserver sur une assiette].",
            ),
            (
                "Dans la même cocotte, faire revenir les {i2} en [grattant|décollant] les sucs [au fond|du fond].",
                "Sans laver [la cocotte|le récipient], faire fondre les {i2} et décoller les sucs [à la cuillère en bois|avec une spatule].",
            ),
            (
                "Remettre la viande, ajouter les {i3} et [couvrir|mouiller] [de bouillon|de vin rouge et de bouillon].",
                "Remettre [tous les morceaux|la viande] dans la cocotte avec les {i3}, puis mouiller [à hauteur|jusqu'à couvrir] avec du [bouillon|fond de veau].",
            ),
            (
                "[Couvrir|Poser le couvercle] et laisser mijoter [deux heures|deux heures et demie] à feu [très doux|minimum].",
                "Fermer le couvercle et laisser cuire [tout doucement|à petits bouillons] [pendant deux à trois heures|tout l'après-midi], en remuant [de temps en temps|de temps à autre].",
            ),
        ),
    ),
}


def _recipe_context(rng: random.Random) -> dict[str, str]:
    kind = rng.choice(sorted(_RECIPES))
    i = rng.sample(_RECIPES[kind][0], 4)
    name = {"ragoût": f"ragoût de bœuf aux {i[0]} et aux {i[1]}"}.get(
        kind, f"{kind} aux {i[0]} et aux {i[1]}"
    )
    return {
        "sorte": kind,
        "plat": name,
        "i1": i[0],
        "i2": i[1],
        "i3": i[2],
        "i4": i[3],
        "parts": rng.choice(("quatre", "six", "quatre à six", "huit")),
    }


def _steps(templates: tuple, rng: random.Random) -> Section:
    n = len(templates)
    return Section(templates, pick=(n, n), numbered=rng.random() < 0.4)


_RECIPE = Genre(
    name="recipe",
    titles=(
        "Recette : {plat}",
        "{plat} [de {town}|comme chez ma grand-mère|pour les soirs d'hiver]",
        "{plat}, [facile et rapide|toute simple]",
    ),
    intro=Section(
        (
            "Cette recette de {plat} m'a été [transmise|donnée] par {person}, à {town}, il y a [quelques années|longtemps|trois hivers].",
            "[Ce plat|Le plat] est [simple|économique|facile] à préparer et [nourrit|convient pour] {parts} personnes.",
            (
                "À {town}, chaque famille a sa propre version, et la mienne met en avant les {i1} et les {i2}.",
                "[Chaque foyer|Chaque maison] de {town} [a|garde] [sa variante|son petit secret] ; [chez moi|à la maison], ce sont les {i1} et les {i2} qui [dominent|font la différence].",
            ),
            (
                "Pas besoin de matériel particulier : une bonne cocotte [ou un moule|et un saladier] [suffisent|font l'affaire].",
                "[Côté matériel|Pour le matériel], [rien de spécial|pas d'achat à prévoir] : [une cocotte|un saladier et un moule] [et c'est tout|suffisent largement].",
            ),
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "[Pour|Si vous êtes] {parts} [personnes|convives], [il faut|prévoyez] des {i1}, des {i2}, des {i3} et des {i4}, [ainsi que du sel|plus un peu de sel] [et du poivre|et quelques herbes].",
                "Si vous ne trouvez pas de {i3}, [remplacez-les par|prenez à la place] [un légume de saison|un ingrédient proche].",
            ),
            pick=(1, 2),
        ),
        Section(
            (
                "Le secret, c'est [la patience|un feu doux] : une cuisson trop [vive|rapide] [gâche|abîme] [le goût|la texture].",
                "Salez [avec modération|à la fin] et goûtez [avant de servir|au dernier moment] pour [ajuster|rectifier] l'assaisonnement.",
                "Avec des produits [frais|de saison], le plat est [nettement|bien] [meilleur|plus savoureux].",
                "Chez nous, on le prépare [souvent|volontiers] le {weekday}, et [les enfants|toute la famille] [l'adorent|en redemandent].",
            ),
            pick=(1, 3),
        ),
    ),
    outro=Section(
        (
            "Les restes se [gardent|conservent] [deux|trois] jours au [réfrigérateur|frais] et sont [encore meilleurs|délicieux] [réchauffés|le lendemain].",
            "Dites-moi [si vous l'essayez|comment elle vous a plu] et [ce que vous avez changé|quelle version vous préférez].",
            (
                "Bon appétit, et ne vous inquiétez pas si le résultat paraît un peu rustique la première fois.",
                "[Régalez-vous|Bonne dégustation] ! [Peu importe|Tant pis] si [la présentation|l'aspect] [laisse à désirer|n'est pas parfait] : [le goût|la saveur] [compte davantage|est l'essentiel].",
            ),
        ),
        pick=(1, 2),
    ),
    middle_pick=(1, 2),
    context=_recipe_context,
    topic=lambda ctx, rng: _steps(_RECIPES[ctx["sorte"]][1], rng),
)

GENRES = {"travel": _TRAVEL, "history": _HISTORY, "news": _NEWS, "review": _REVIEW, "recipe": _RECIPE}

BOILERPLATE = {
    "nav": (
        "Accueil | Actualités | Sports | Agenda | Contact",
        "Aller au contenu",
        "Menu Rechercher Se connecter",
        "Partager cet article : Facebook Twitter E-mail",
    ),
    "cookie": (
        "Ce site utilise des cookies. Tout accepter",
        "Nous utilisons des cookies pour améliorer votre expérience. En savoir plus",
        "Paramètres des cookies | Accepter | Refuser",
    ),
    "newsletter": (
        "Abonnez-vous à notre newsletter !",
        "Inscrivez-vous à notre lettre d'information hebdomadaire.",
    ),
    "footer": (
        "© {year3} Le {paper} de {town}. Tous droits réservés.",
        "Mentions légales | Politique de confidentialité | Contact",
        "Lire la suite",
        "À lire aussi",
        "Les commentaires sont fermés.",
    ),
}
PII = (
    "Pour réserver, écrivez à {email} ou appelez le {phone}.",
    "Les questions peuvent être envoyées à {person} à l'adresse {email}.",
    "L'ancien serveur {ip} a été arrêté, pensez à mettre à jour vos favoris.",
    "Le magasin rappelle qu'il ne faut jamais envoyer un numéro de carte comme {card} par courriel.",
    "La mairie est joignable au {phone} du lundi au vendredi.",
)
EMAIL_NAMES = tuple(
    n.lower().replace("é", "e").replace("è", "e").replace("ç", "c").replace("É", "e").replace("ë", "e")
    for n in _FIRST + _LAST
)
PHONES = ("+33 1 55 50 01 {10-99}", "01 55 50 01 {10-99}", "+33 (0)4 55 50 0{100-999}")
SPAM_WORDS = (
    "pas cher",
    "promo",
    "livraison gratuite",
    "meilleur prix",
    "{category} pas cher",
    "acheter {category}",
    "{category} en ligne",
    "soldes",
    "réduction",
    "gratuit",
    "bons plans",
)
SPAM_LINES = (
    "ACHETEZ MAINTENANT !!! Offre limitée, aujourd'hui seulement !",
    "CLIQUEZ ICI pour les meilleurs prix sur les {category} !!!",
    "{category} pas cher {category} pas cher {category} pas cher !",
    "Livraison gratuite, COMMANDEZ VITE !",
    "Gagnez des {category} gratuits, cliquez ici !!!",
)
SPAM_CATEGORIES = ("montres", "téléphones", "chaussures", "lunettes", "sacs", "crédits")
LIST_ITEMS = (
    "Taille : {nombre}",
    "Couleur : bleu",
    "En stock",
    "Ajouter au panier",
    "Prix : {price},99 €",
    "Livraison offerte",
    "Réf. {1000-9999}",
    "Partager",
    "Horaires",
    "Lun-Ven 9h-17h",
    "Sam 10h-14h",
    "Haut de page",
    "Suivant",
)
SHORT = (
    "Le conseil municipal de {town} se réunit {weekday}. Ordre du jour à venir.",
    "Photos du marché de {town}, {month}.",
    "Fermé pour congés jusqu'à la fin de {month}. Merci !",
    "Page en construction.",
)
