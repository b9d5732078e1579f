"""Banco de frases en español: pueblos, personas y productos inventados, cinco tipos de página.

Todas las frases se escribieron para los datos de ejemplo de curate. Los lugares, las personas,
las marcas y los acontecimientos son inventados.
"""

from __future__ import annotations

import random

from .engine import Genre, Section, names

CODE = "es"
JOIN = " "

_TOWN_HEAD = ("Villa", "Torre", "Fuente", "Monte", "Valle", "Puebla", "Casas", "Campo", "Vega", "Peña")
_TOWN_TAIL = (
    "del Sauce",
    "de los Almendros",
    "del Río Claro",
    "de la Sierra",
    "de Arriba",
    "del Olivar",
    "de las Encinas",
    "de los Molinos",
    "del Pinar",
    "de la Vega Alta",
    "del Cerro",
    "de Santa Olalla",
)
_RIVER = names("Alcira Tormeda Valdés Jarama Orbigal Cinqueta Marial Lebrena Sorbe Tiétar Albarca Guadiel")
_FIRST = names(
    "Lucía Pablo Carmen Javier Marta Diego Elena Sergio Paula Andrés Laura Miguel Sara Jorge Rosa "
    "Alberto Nuria Fernando Isabel Raúl Teresa Manuel Pilar Ignacio"
)
_LAST = names(
    "García Martínez López Sánchez Romero Navarro Torres Ramos Gil Serrano Molina Castro Ortega "
    "Delgado Morales Ortiz Rubio Marín Iglesias Medina Vidal Prieto"
)
# (con artículo, tras «a», tras «de»)
_SIGHTS = (
    ("el viejo molino", "al viejo molino", "del viejo molino"),
    ("la torre del reloj", "a la torre del reloj", "de la torre del reloj"),
    ("el mercado cubierto", "al mercado cubierto", "del mercado cubierto"),
    ("la iglesia de San Aldrico", "a la iglesia de San Aldrico", "de la iglesia de San Aldrico"),
    ("el puente de piedra", "al puente de piedra", "del puente de piedra"),
    ("el antiguo granero", "al antiguo granero", "del antiguo granero"),
    ("el museo municipal", "al museo municipal", "del museo municipal"),
    ("el priorato", "al priorato", "del priorato"),
    ("el lavadero", "al lavadero", "del lavadero"),
    ("la casa del barquero", "a la casa del barquero", "de la casa del barquero"),
    ("la antigua estación", "a la antigua estación", "de la antigua estación"),
    ("el molino de viento", "al molino de viento", "del molino de viento"),
    ("la plaza de los soportales", "a la plaza de los soportales", "de la plaza de los soportales"),
)
_TRADES = (
    "la lana",
    "la sal",
    "el cuero",
    "el lino",
    "la madera",
    "el vino",
    "la cerámica",
    "el aceite",
    "el queso",
    "la seda",
)
_DISHES = (
    "la empanada de trucha",
    "la sopa de puerros",
    "el bizcocho de nueces",
    "el guiso de cordero",
    "las migas con uvas",
    "la tarta de peras",
    "el pisto de la huerta",
    "las judías con chorizo",
    "el arroz con setas",
)
_MONTHS = names("enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre")
_WEEKDAYS = names("lunes martes miércoles jueves viernes sábado domingo")


def town(rng: random.Random) -> str:
    return f"{rng.choice(_TOWN_HEAD)} {rng.choice(_TOWN_TAIL)}"


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
        "sight2_de": s2[2],
        "sight3_a": s3[1],
        "trade": rng.choice(_TRADES),
        "dish": d1,
        "dish2": d2,
        "month": rng.choice(_MONTHS),
        "weekday": (day := rng.choice(_WEEKDAYS)),
        "weekdays": day if day.endswith("s") else day + "s",  # los lunes, los sábados
        "mins": str(rng.randint(10, 45)),
        "price": str(rng.randint(4, 19)),
        "paper": rng.choice(("Diario", "Heraldo", "Correo", "Eco", "Noticiero")),
    }


POOLS: dict[str, tuple[str, ...]] = {
    "tiempo": (
        "bajo una llovizna fina",
        "con un sol radiante",
        "con un viento frío",
        "entre la niebla",
        "con un tiempo suave",
    ),
    "tienda": (
        "una panadería",
        "una librería",
        "una ferretería",
        "una tetería",
        "una floristería",
        "una quesería",
    ),
    "producto": ("pan recién hecho", "queso de cabra", "miel", "zumo de manzana", "embutidos", "almendras"),
    "numero": ("dos", "tres", "cuatro", "cinco", "seis"),
    "grupo": ("el ayuntamiento", "la asociación de vecinos", "un grupo de voluntarios", "la peña cultural"),
    "edificio": (
        "la biblioteca",
        "la piscina municipal",
        "el centro cívico",
        "el colegio",
        "el polideportivo",
    ),
}

_TRAVEL = Genre(
    name="travel",
    titles=(
        "[Dos|Tres|Unos] días en {town}",
        "Un fin de semana en {town}",
        "Cuaderno de viaje: {town} y la ribera del {river}",
        "{town} a pie: [notas|recuerdos] de una [breve|bonita] escapada",
    ),
    intro=Section(
        (
            "Hacía [años|mucho tiempo] que [quería|tenía ganas de] conocer {town}, y este mes de {month} por fin [me decidí|hice el viaje].",
            "{town} es un pueblo [pequeño|tranquilo|recogido] a orillas del río {river}, a [unos|alrededor de] {mins} minutos de {town2}.",
            "[La mayoría de|Muchos] [viajeros|visitantes] solo [pasan por|atraviesan] {town} [de camino a la sierra|sin detenerse], y es [una pena|un error].",
            "Llegamos {tiempo}, [cansados|con hambre|un poco perdidos], pero [con ganas|de buen humor].",
            "[Este es|Aquí va] un [relato|resumen] [breve|personal] de [nuestra|mi] visita, con [algunos|varios] [consejos|trucos] para [quien quiera|los que piensen] [hacer el mismo viaje|ir pronto].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "Llegar es [fácil|sencillo]: el tren regional para [cada hora|varias veces al día] [junto a la plaza|en la estación].",
                "La estación [está|queda] a [diez|quince] minutos [a pie|andando] del centro, [por una calle de|pasando por delante de] [casas antiguas|pequeños huertos].",
                "Si [vais|venís] en coche, [es mejor|conviene] [aparcar|dejarlo] [a la entrada del pueblo|cerca del río], porque las calles del [centro|casco viejo] son [estrechas|empinadas].",
                "El billete [desde|con salida en] {town2} [cuesta|sale por] [unos|alrededor de] {price} euros, y [por el camino|desde la ventanilla] hay [unas vistas preciosas|buenas vistas] del valle.",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "El monumento más [conocido|famoso|visitado] es [sin duda|seguramente] {sight}, orgullo de [todo el pueblo|los vecinos].",
                "No [hay que perderse|os perdáis] la visita {sight2_de}: los [voluntarios|guías] [cuentan|explican] su historia con [mucha pasión|mucho humor].",
                "Un [sendero|camino] [sale de|arranca en] la plaza y [sigue|bordea] el río {river} hasta llegar {sight3_a}, a unos {numero} kilómetros.",
                "La entrada es [gratuita|muy barata], y los {weekdays} apenas hay [gente|visitantes].",
                "En las [callejuelas|calles estrechas] hay {tienda}, {tienda} y [varias|algunas] casas [antiguas|de piedra] con [portones tallados|balcones de madera].",
                "Desde lo alto [del cerro|de la torre] se [ve|divisa] [todo el pueblo|los tejados del casco antiguo] y, en días claros, [la sierra|todo el valle].",
            ),
            pick=(2, 4),
        ),
        Section(
            (
                "Para [comer|cenar], hay que probar {dish}, un plato [típico|tradicional] que se sirve en [casi todos los bares|la mayoría de los restaurantes].",
                "[Comimos|Almorzamos] en un [mesón|bar] [pequeño|familiar] [junto al río|en la plaza], donde [probamos|pedimos] {dish2} y el trato fue [muy amable|excelente].",
                "En el mercado de los [sábados|domingos] [venden|se encuentra] {producto}, {producto} y [fruta de la vega|verdura de la huerta].",
                "Los precios son [razonables|muy correctos]: un menú del día [cuesta|sale por] [unos|alrededor de] {price} euros.",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "[Dormimos|Nos alojamos] en una casa rural [pequeña|encantadora] que lleva {person}, que conoce [cada rincón del pueblo|todas las historias del lugar].",
                "En {month} las habitaciones [se llenan pronto|escasean], así que [conviene|es mejor] reservar [con tiempo|con antelación].",
                "La habitación era [sencilla pero limpia|pequeña pero cómoda], y el desayuno [incluía|traía] [mermelada casera|huevos de la granja|pan recién hecho].",
            ),
            pick=(1, 2),
        ),
        Section(
            (
                "Un consejo: [muchas tiendas|varios bares] cierran [pronto|a mediodía] los {weekdays}.",
                "[Llevad|No olvidéis] [buen calzado|un chubasquero], porque los caminos [alrededor de|cerca de] {town} son [resbaladizos|pedregosos] en algunos tramos.",
                "La oficina de turismo [presta|reparte] mapas [gratuitos|detallados] y ayuda [con mucho gusto|encantada] con los horarios de [autobús|tren].",
                "Si [tenéis|os queda] un día más, [subid|id] a la sierra y [volved|regresad] por la ribera del {river}.",
            ),
            pick=(1, 3),
        ),
    ),
    outro=Section(
        (
            "[En resumen|Al final], {town} fue una [grata sorpresa|sorpresa muy agradable].",
            "Volvería [sin dudarlo|con gusto], [quizá|tal vez] en [primavera|otoño], cuando hay [menos visitantes|menos gente].",
            "No es un sitio para [salir de fiesta|ir de compras], pero para [un fin de semana|unos días] [tranquilo|de descanso] es [perfecto|ideal].",
        ),
        pick=(1, 2),
    ),
)

_HISTORY = Genre(
    name="history",
    titles=(
        "Breve historia de {town}",
        "Cómo nació {town}",
        "{town}, [de {founded} a nuestros días|a través de los siglos]",
    ),
    intro=Section(
        (
            "{town} [aparece|se menciona] por primera vez en [un documento|una carta de repoblación] de {founded}, cuando no era más que [un puñado de casas|una aldea] junto al río {river}.",
            "[Pocos pueblos|Muy pocos pueblos] de [este tamaño|estas dimensiones] tienen una historia tan [rica|agitada] como la de {town}.",
            "El nombre [del pueblo|de {town}] vendría de una [palabra antigua|expresión antigua] que [designaba|significaba] un [vado|prado|claro] [junto al agua|a la orilla del río].",
            "Los [historiadores|cronistas locales] [creen|suponen] que los primeros [pobladores|campesinos] llegaron a la orilla del {river} [mucho antes de|bastante antes de] {founded}.",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "En la Edad Media, [el pueblo|la villa] vivía [sobre todo|principalmente] del comercio de {trade}, que se [transportaba|llevaba] por el río hasta [los grandes mercados|la costa].",
                "[Un siglo después|Poco después] se concedió un mercado [semanal|anual], y [en la misma época|pocos años más tarde] se levantó {sight}.",
                "Comerciantes [llegados de|venidos de] {town2} se [instalaron|asentaron] [junto al puente|en la plaza], y [algunas|varias] de sus bodegas todavía se [conservan|pueden visitar].",
                "El priorato poseía [gran parte|la mayoría] de las tierras y [explotaba|gestionaba] los [molinos|hornos] y los [huertos|viñedos].",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "En {year}, un [gran incendio|terrible temporal|grave incendio] [destruyó|arrasó] [decenas de|muchas] casas [cerca del|a orillas del] río.",
                "La reconstrucción [duró|llevó] [años|varias décadas], y [muchas|la mayoría] de las casas de madera se [rehicieron|levantaron de nuevo] en [piedra|ladrillo].",
                (
                    "Tras la catástrofe, el concejo mandó [ensanchar|alinear] la calle mayor y [construir|levantar] un [segundo|nuevo] puente.",
                    "[Para evitar otra desgracia|Aprendida la lección], las autoridades [decidieron|ordenaron] [abrir calles más anchas|ensanchar las calles] y [tender|construir] otro puente sobre el {river}.",
                ),
                "[Cartas|Crónicas] de la época [describen|cuentan] [familias|vecinos] que [vivieron|se refugiaron] durante [meses|todo un invierno] en los locales cercanos {sight_a}.",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "El ferrocarril [llegó a|alcanzó] {town} en {year_rail}, y en [una generación|pocas décadas] la población [se duplicó|creció con fuerza].",
                "Junto a la estación se [abrieron|instalaron] [pequeños talleres|almacenes] que [dieron|ofrecieron] trabajo a [cientos de|muchas] familias.",
                "Se [construyeron|levantaron] casas para los obreros [al sur del río|en los antiguos campos], y [después|más tarde] una [escuela|casa de socorro] y una capilla.",
                (
                    "No a todos les gustaron los cambios: en el periódico local, algunos lectores se quejaban del [humo|hollín] y del [ruido|trasiego].",
                    "[Hubo|No faltaron] [vecinos|lectores] que [miraban|recibieron] [aquellas novedades|tanto cambio] con [desconfianza|recelo], y [la prensa local|el periódico] [lo recogió|dejó constancia].",
                ),
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "Hacia {year2}, la mayoría de los [viejos talleres|oficios antiguos] había [cerrado|desaparecido], y {town} se volcó en [la agricultura|el turismo].",
                "En {year2}, {grupo} salvó {sight2} del derribo, [gracias sobre todo a|con la ayuda de] {person}.",
                "La línea de tren se [cerró|clausuró] en {year2}, aunque un autobús [sigue uniendo|todavía une] el pueblo con {town2}.",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "Hoy {town} tiene [unos|cerca de] {numero} mil habitantes, y su pasado [todavía|aún] se [lee|adivina] en [las calles del casco antiguo|sus fachadas].",
            "{grupo} [guarda|reúne] fotografías antiguas y publica [cada año|de vez en cuando] un [pequeño|modesto] boletín.",
            (
                "Quedan muchas preguntas abiertas, y los hallazgos en bodegas y huertos [siguen completando|todavía enriquecen] esta historia.",
                "[La historia de {town}|Este relato] [no está cerrada|sigue abierta]: [cada obra|cada excavación] [aporta|saca a la luz] [nuevos datos|alguna sorpresa].",
            ),
        ),
        pick=(1, 2),
    ),
    ordered_middle=True,  # history runs forward in time
)

_NEWS = Genre(
    name="news",
    titles=(
        "{town}: el pleno aprueba {proyecto}",
        "En {town}, {proyecto} [genera debate|divide a los vecinos]",
        "{town}: la {fiesta} reúne a [cientos de personas|numerosos visitantes]",
    ),
    intro=Section(
        (
            "El pleno del ayuntamiento de {town} [aprobó|acordó] el {weekday} [poner en marcha|financiar] {proyecto}.",
            "Las obras [empezarán|deberían empezar] en {month}, según [explicó|detalló] {person}, de la comisión de urbanismo.",
            "[Más de|Cerca de] [doscientas|trescientas|cuatrocientas|seiscientas] personas [participaron|se dieron cita] el {weekday} en la {fiesta}.",
            "El proyecto [genera debate|divide a los vecinos] [desde hace meses|desde la primavera].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "El coste se [calcula|estima] en [unos|cerca de] [doscientos|trescientos|cuatrocientos|seiscientos] mil euros, pagados [en parte|en su mayoría] con [una subvención regional|fondos europeos].",
                "{person} [recordó|subrayó] que [el pueblo|los vecinos] [llevaba|llevaban] [años|mucho tiempo] esperando [este proyecto|una decisión así].",
                "Algunos vecinos [temen|se quejan de] [más tráfico|ruido|problemas de aparcamiento] cerca de {edificio}.",
                "El {weekday} habrá una [reunión informativa|charla abierta] en {edificio}, y [todos los vecinos están invitados|la entrada es libre].",
                "Los planos se pueden [consultar|ver] en [la entrada|el vestíbulo] de {edificio} hasta [finales de {month}|que termine {month}].",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "Los organizadores [destacaron|contaron] que el tiempo [acompañó|respetó la jornada] y que los puestos se quedaron sin [género|existencias] [a media tarde|antes de las cuatro].",
                "Los niños se [agolpaban|arremolinaban] alrededor de [un teatro de títeres|una banda de música|los ponis] junto a la entrada {sight_de}.",
                "{person2}, de la comisión de fiestas, [dio las gracias|agradeció su trabajo] a [todos los colaboradores|los patrocinadores].",
                "Lo recaudado se [destinará|entregará] [al banco de alimentos|a la asociación juvenil|al comedor escolar].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Durante las obras, el tráfico [estará cortado|quedará restringido] junto {sight_a} [varias semanas|hasta el otoño].",
                "Se [pide|recomienda] a los conductores que [sigan|tomen] el desvío [señalizado|indicado] por {town2}.",
                "El autobús [parará|hará parada] en una parada [provisional|temporal] [frente a|al lado de] {edificio} mientras duren los trabajos.",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "La próxima [reunión|sesión] está prevista para {month}.",
            "Los vecinos pueden [enviar sus preguntas|hacer llegar sus dudas] al ayuntamiento [por escrito|a través de la web municipal].",
            "Seguiremos [informando|contando] [sobre este proyecto|la evolución del asunto].",
        ),
        pick=(1, 2),
    ),
    context=lambda rng: {
        "proyecto": rng.choice(
            (
                "una pasarela sobre el río",
                "un nuevo carril bici",
                "un parque de patinaje",
                "la ampliación de la biblioteca",
                "un huerto comunitario",
                "la reforma del tejado del mercado",
                "placas solares en el colegio",
            )
        ),
        "fiesta": rng.choice(
            (
                "feria de primavera",
                "fiesta de la vendimia",
                "carrera de patos",
                "feria del libro",
                "fiesta de verano",
            )
        ),
    },
)

_PRODUCTS = {
    "hervidor": (
        "la tapa se abre con un solo dedo",
        "el indicador de nivel se lee con facilidad",
        "un litro de agua hierve en algo más de tres minutos",
        "la base no se calienta",
    ),
    "altavoz portátil": (
        "la batería aguanta una semana entera",
        "el sonido es claro incluso a poco volumen",
        "resiste las salpicaduras",
        "se conecta en pocos segundos",
    ),
    "taladro inalámbrico": (
        "se sujeta muy bien con una mano",
        "la batería se carga en una hora",
        "el par de apriete se ajusta con precisión",
        "la pequeña luz ilumina bien la zona de trabajo",
    ),
    "chubasquero": (
        "la capucha no se mueve con el viento",
        "las costuras nunca han dejado pasar el agua",
        "se guarda en su propio bolsillo",
        "los puños se ajustan con facilidad",
    ),
    "robot aspirador": (
        "recorre toda la casa sin quedarse atascado",
        "el depósito se vacía en un momento",
        "hace mucho menos ruido que el anterior",
        "vuelve solo a la base cuando termina",
    ),
}
_BRANDS = names("Norvane Kelto Brisa Altair Huxley Mondo Tamsin Orbel Quillon Vardo")


def _review_context(rng: random.Random) -> dict[str, str]:
    cat = rng.choice(sorted(_PRODUCTS))
    f1, f2, f3 = rng.sample(_PRODUCTS[cat], 3)
    return {
        "categoria": cat,
        "producto": f"{rng.choice(_BRANDS)} {rng.choice(('One', 'Lite', 'Pro', 'Home', 'Go'))} {rng.randint(2, 9)}",
        "f1": f1,
        "f2": f2,
        "f3": f3,
        "precio": str(rng.randint(19, 149)),
        "nota": rng.choice(("tres", "cuatro", "cuatro", "cinco")),
        "duracion": rng.choice(("dos semanas", "un mes", "seis semanas", "tres meses", "medio año")),
    }


_REVIEW = Genre(
    name="review",
    titles=(
        "Análisis: {producto} ({categoria})",
        "{producto}: mi opinión tras {duracion} de uso",
        "[Opinión|Prueba a fondo]: ¿merece la pena el {producto}?",
    ),
    intro=Section(
        (
            "[Compré|Me hice con] el {producto} hace {duracion}, cuando mi antiguo {categoria} [dejó de funcionar|se estropeó].",
            "El {producto} es un {categoria} que [cuesta|sale por] [unos|alrededor de] {precio} euros, [así que está en|lo que lo sitúa en] la gama [media|media-alta].",
            "Hay [muchos|bastantes] modelos [más baratos|parecidos], [por eso|así que] quería [saber|comprobar] si este [vale lo que cuesta|justifica la diferencia].",
            "Esta reseña se basa en {duracion} de uso [diario|habitual], no en una [primera impresión|prueba rápida].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "[Lo primero que noté|Lo que más me llamó la atención al principio] es que {f1}.",
                "[Otro punto a favor:|Otra ventaja:|También destaca que] {f2}.",
                "[Con el uso diario|Tras unas semanas] se [nota|ve] que {f3}, y eso [importa más de lo que parece|se agradece mucho].",
                "Los acabados son [sólidos|cuidados], y [de momento|hasta ahora] no se ha [roto|aflojado] [nada|ninguna pieza].",
            ),
            pick=(2, 4),
        ),
        Section(
            (
                "[Aun así, no es perfecto|Pero también tiene defectos|No todo son ventajas, eso sí].",
                "La superficie se llena [enseguida|con facilidad] de huellas, así que hay que [limpiarla|pasarle un paño] [a menudo|de vez en cuando].",
                "El manual es [muy breve|escaso] y no [explica|aclara] [todos los ajustes|la garantía].",
                "Por {precio} euros [esperaba|me habría gustado] [una garantía más larga|una funda|otro color].",
                "El servicio de [atención|posventa] [respondió|contestó] a mi [pregunta|consulta] [en un día|a los tres días], lo cual [está bien|es razonable].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "[Comparado con|Frente a] mi antiguo {categoria}, el {producto} es [más silencioso|más ligero|de mejor calidad] y más [cómodo|fácil] de usar.",
                "[Un amigo|Mi vecina|Mi hermano] tiene un modelo [más barato|parecido], y [en una comparación directa|puestos uno al lado del otro] el {producto} [salió|quedó] [claramente|bastante] mejor.",
                "Para un uso [ocasional|esporádico], un modelo más [sencillo|barato] será [suficiente|más que suficiente].",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "[En resumen|En conjunto|Como balance], le doy al {producto} {nota} estrellas de cinco.",
            "Lo [recomiendo|aconsejo] a quien use un {categoria} [todos los días|a menudo].",
            "En oferta sería [una auténtica ganga|una compra excelente].",
        ),
        pick=(1, 2),
    ),
    context=_review_context,
)

_RECIPES = {
    "sopa": (
        (
            "puerros",
            "nabos",
            "guisantes",
            "calabacines",
            "garbanzos",
            "champiñones",
            "pimientos",
            "espárragos",
        ),
        (
            (
                "Lavar las verduras y cortarlas en [trozos pequeños|dados regulares].",
                "[Primero|Para empezar], pelar las verduras y cortarlas en dados de un centímetro más o menos.",
            ),
            (
                "Calentar [un chorrito de aceite|un poco de mantequilla] en una olla grande y rehogar los {i1} [cinco|ocho] minutos.",
                "En una cazuela, calentar [aceite|un poco de aceite de oliva] y pochar los {i1} a fuego lento, sin que se doren.",
            ),
            (
                "Añadir los {i2} y los {i3}, y cubrir con [un litro|litro y medio] de caldo.",
                "[Después|Luego], incorporar los {i2} y los {i3} y cubrirlo todo con caldo caliente.",
            ),
            (
                "Llevar a ebullición y dejar cocer a fuego suave [veinte|treinta|cuarenta] minutos.",
                "Cuando empiece a hervir, bajar el fuego y dejar que cueza [despacio|tranquilamente] una media hora.",
            ),
            (
                "Salpimentar y triturar una parte si se quiere más espesa.",
                "[Para terminar|Al final], probar de sal y triturar la sopa [a medias|entera], según la textura que se prefiera.",
            ),
        ),
    ),
    "bizcocho": (
        ("manzanas", "nueces", "peras", "ciruelas", "avellanas", "pasas", "almendras", "fresas"),
        (
            (
                "Precalentar el horno a [170|180] grados y engrasar un molde [redondo|cuadrado].",
                "Encender el horno a [170|180] grados y forrar un molde con papel de hornear.",
            ),
            (
                "Batir [150|200] gramos de mantequilla blanda con el mismo peso de azúcar hasta que blanquee.",
                "Trabajar la mantequilla y el azúcar [a partes iguales|en la misma cantidad] hasta obtener una crema [clara|esponjosa].",
            ),
            (
                "Añadir tres huevos de uno en uno y después [200|250] gramos de harina y un sobre de levadura.",
                "Incorporar los huevos uno a uno y luego la harina y la levadura, sin batir demasiado.",
            ),
            (
                "Añadir con cuidado las {i1} y las {i2} a la masa.",
                "[Por último|Para terminar], mezclar [suavemente|con una espátula] las {i1} y las {i2} con la masa.",
            ),
            (
                "Verter en el molde y hornear [cuarenta|cuarenta y cinco] minutos, hasta que un palillo salga limpio.",
                "Echar la masa, alisar la superficie y hornear [unos|alrededor de] [cuarenta|cincuenta] minutos; comprobar con un palillo.",
            ),
            (
                "Dejar enfriar antes de desmoldar.",
                "Esperar [al menos|unos] veinte minutos antes de desmoldar y cortar el bizcocho.",
            ),
        ),
    ),
    "guiso": (
        (
            "champiñones",
            "pimientos",
            "garbanzos",
            "guisantes",
            "nabos",
            "puerros",
            "ajos tiernos",
            "espárragos",
        ),
        (
            (
                "Cortar la carne en trozos grandes y pasarlos por un poco de harina.",
                "[Primero|Para empezar], trocear la carne en dados de unos tres centímetros y enharinarlos ligeramente.",
            ),
            (
                "Dorar los trozos [en varias tandas|poco a poco] en una sartén bien caliente y reservarlos.",
                "Sellar la carne [a fuego fuerte|en una cazuela muy caliente], unos trozos cada vez, y apartarla.",
            ),
            (
                "En la misma cazuela, sofreír los {i2} raspando el fondo.",
                "Sin lavar la cazuela, rehogar los {i2} y despegar lo que se haya pegado [con una cuchara de madera|con la espátula].",
            ),
            (
                "Volver a poner la carne, añadir los {i3} y cubrir con caldo.",
                "Devolver [toda la carne|los trozos] a la cazuela con los {i3} y añadir caldo hasta cubrir.",
            ),
            (
                "Tapar y dejar cocer [dos horas|dos horas y media] a fuego muy lento.",
                "Poner la tapa y dejar que se haga despacio entre dos y tres horas, removiendo de vez en cuando.",
            ),
        ),
    ),
}


def _recipe_context(rng: random.Random) -> dict[str, str]:
    kind = rng.choice(sorted(_RECIPES))
    i = rng.sample(_RECIPES[kind][0], 4)
    name = {"guiso": f"guiso de ternera con {i[0]} y {i[1]}"}.get(kind, f"{kind} de {i[0]} y {i[1]}")
    return {
        "clase": kind,
        "plato": name,
        "i1": i[0],
        "i2": i[1],
        "i3": i[2],
        "i4": i[3],
        "raciones": rng.choice(("cuatro", "seis", "cuatro a seis", "ocho")),
    }


def _steps(templates: tuple, rng: random.Random) -> Section:
    n = len(templates)
    return Section(templates, pick=(n, n), numbered=rng.random() < 0.4)


_RECIPE = Genre(
    name="recipe",
    titles=(
        "Receta: {plato}",
        "{plato} [de {town}|como lo hacía mi abuela|para las noches de invierno]",
        "{plato}, [fácil y rápido|muy sencillo]",
    ),
    intro=Section(
        (
            "Esta receta de {plato} me la [enseñó|pasó] {person}, en {town}, hace [unos años|mucho tiempo].",
            "Es [sencilla|económica|fácil] y da para {raciones} personas.",
            (
                "En {town} cada familia tiene su propia versión, y la mía lleva sobre todo {i1} y {i2}.",
                "[Cada casa|Cada familia] de {town} [tiene|guarda] [su truco|su variante]; en la mía [mandan|destacan] {i1} y {i2}.",
            ),
            (
                "No hace falta ningún utensilio especial: basta con una buena cazuela [o un molde|y un bol].",
                "[En cuanto a utensilios|Para prepararla], [nada especial|no hay que comprar nada]: [una cazuela|un bol y un molde] y [listo|poco más].",
            ),
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "Para {raciones} personas [hacen falta|necesitáis] {i1}, {i2}, {i3} y {i4}, [además de sal y pimienta|y un poco de sal].",
                "Si no [encontráis|tenéis] {i3}, se pueden [sustituir|cambiar] por [una verdura de temporada|un ingrediente parecido].",
            ),
            pick=(1, 2),
        ),
        Section(
            (
                "El secreto está en [la paciencia|el fuego suave]: si se cocina [demasiado fuerte|con prisas], [se estropea|se pierde] el sabor.",
                "Conviene echar la sal [con cuidado|al final] y probar [antes de servir|en el último momento] para [ajustarla|corregirla].",
                "Con productos [frescos|de temporada], el plato queda [mucho más rico|bastante mejor].",
                "En casa lo hacemos [a menudo|casi siempre] los {weekdays}, y a [los niños|toda la familia] les [encanta|gusta muchísimo].",
            ),
            pick=(1, 3),
        ),
    ),
    outro=Section(
        (
            "Lo que sobre se [conserva|guarda] [dos|tres] días en la nevera y está [aún mejor|buenísimo] [recalentado|al día siguiente].",
            "Contadme [si lo probáis|qué tal os sale] y [qué habéis cambiado|qué versión preferís].",
            (
                "Buen provecho, y no os preocupéis si la primera vez queda un poco rústico.",
                "[Que aproveche|A disfrutar]: si [el aspecto|la presentación] no [sale perfecto|queda perfecta] [a la primera|el primer día], [da igual|no pasa nada].",
            ),
        ),
        pick=(1, 2),
    ),
    middle_pick=(1, 2),
    context=_recipe_context,
    topic=lambda ctx, rng: _steps(_RECIPES[ctx["clase"]][1], rng),
)

GENRES = {"travel": _TRAVEL, "history": _HISTORY, "news": _NEWS, "review": _REVIEW, "recipe": _RECIPE}

BOILERPLATE = {
    "nav": (
        "Inicio | Noticias | Deportes | Agenda | Contacto",
        "Saltar al contenido",
        "Menú Buscar Iniciar sesión",
        "Compartir este artículo: Facebook Twitter Correo",
    ),
    "cookie": (
        "Este sitio web utiliza cookies. Aceptar todas",
        "Usamos cookies para mejorar tu experiencia. Más información",
        "Configuración de cookies | Aceptar | Rechazar",
    ),
    "newsletter": ("¡Suscríbete a nuestro boletín!", "Recibe cada semana nuestras noticias en tu correo."),
    "footer": (
        "© {year3} {paper} de {town}. Todos los derechos reservados.",
        "Aviso legal | Política de privacidad | Contacto",
        "Leer más",
        "Te puede interesar",
        "Los comentarios están cerrados.",
    ),
}
PII = (
    "Para reservar, escribid a {email} o llamad al {phone}.",
    "Las dudas se pueden enviar a {person} en la dirección {email}.",
    "El antiguo servidor {ip} ya no funciona, así que conviene actualizar los marcadores.",
    "La tienda recuerda que nunca hay que enviar un número de tarjeta como {card} por correo.",
    "El ayuntamiento atiende en el {phone} de lunes a viernes.",
)
EMAIL_NAMES = tuple(
    n.lower()
    .replace("á", "a")
    .replace("é", "e")
    .replace("í", "i")
    .replace("ó", "o")
    .replace("ú", "u")
    .replace("ñ", "n")
    for n in _FIRST + _LAST
)
PHONES = ("+34 555 01 {10-99} {10-99}", "555 01 {10-99} {10-99}", "+34 91 555 0{100-999}")
SPAM_WORDS = (
    "barato",
    "oferta",
    "envío gratis",
    "mejor precio",
    "{category} baratos",
    "comprar {category}",
    "{category} online",
    "rebajas",
    "descuento",
    "gratis",
    "chollos",
)
SPAM_LINES = (
    "¡¡¡COMPRA YA!!! Oferta limitada, ¡solo hoy!",
    "¡¡HAZ CLIC AQUÍ para los mejores precios en {category}!!",
    "¡{category} baratos {category} baratos {category} baratos!",
    "Envío gratis, ¡PIDE YA!",
    "¡Gana {category} gratis, haz clic aquí!",
)
SPAM_CATEGORIES = ("relojes", "móviles", "zapatillas", "gafas de sol", "bolsos", "préstamos")
LIST_ITEMS = (
    "Talla: {numero}",
    "Color: azul",
    "En stock",
    "Añadir al carrito",
    "Precio: {price},99 €",
    "Envío gratuito",
    "Ref. {1000-9999}",
    "Compartir",
    "Horario",
    "Lun-Vie 9-17 h",
    "Sáb 10-14 h",
    "Volver arriba",
    "Siguiente",
)
SHORT = (
    "El pleno de {town} se reúne el {weekday}. Orden del día próximamente.",
    "Fotos del mercado de {town}, {month}.",
    "Cerrado por vacaciones hasta finales de {month}. ¡Gracias!",
    "Página en construcción.",
)
