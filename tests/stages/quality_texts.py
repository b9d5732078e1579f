"""Texts for the quality tests, written for this project: clean pages in English, German,
Chinese and Japanese that every rule set keeps, and spam that it must not keep."""

EN_PAGE = """Community gardens have changed the way our neighbourhood spends its weekends.
What started as a single plot behind the library is now a network of twelve gardens, each run by volunteers who meet on the first Saturday of the month.
The city provides water and compost, while residents bring seeds, tools and a surprising amount of advice.
Last summer the gardens produced more than two tonnes of vegetables, most of which went to the food bank on Mill Street.
Children from the primary school visit every Thursday to learn how beans climb, why worms matter and when tomatoes are ready to pick.
Anyone who wants a plot can add their name to the waiting list at the library desk, and the wait is rarely longer than a season."""

DE_PAGE = """Die Gemeinschaftsgärten haben verändert, wie unser Viertel seine Wochenenden verbringt.
Was als einzelnes Beet hinter der Bibliothek begann, ist heute ein Netz aus zwölf Gärten, die von Freiwilligen betreut werden.
Die Stadt stellt Wasser und Kompost bereit, während die Bewohner Saatgut, Werkzeug und erstaunlich viele Ratschläge mitbringen.
Im letzten Sommer ernteten die Gärten mehr als zwei Tonnen Gemüse, das zum größten Teil an die Tafel in der Mühlenstraße ging.
Kinder aus der Grundschule kommen jeden Donnerstag, um zu lernen, wie Bohnen klettern und warum Regenwürmer wichtig sind.
Wer ein eigenes Beet möchte, trägt sich an der Theke der Bibliothek in die Warteliste ein, und die Wartezeit ist selten länger als eine Saison."""

ZH_PAGE = """社区花园改变了我们这个街区的周末生活。
最初只是图书馆后面的一小块地，现在已经发展成由十二个花园组成的网络，每个花园都由志愿者管理，他们在每个月的第一个星期六开会。
市政府提供水和堆肥，居民们则带来种子、工具，还有许多意想不到的建议。
去年夏天，这些花园一共收获了两吨多蔬菜，其中大部分送到了米尔街的食物银行。
附近小学的孩子们每周四都会来参观，学习豆子怎样攀爬，蚯蚓为什么重要，以及西红柿什么时候可以采摘。
想要一块地的人可以在图书馆服务台登记，通常等待的时间不会超过一个季节。"""

JA_PAGE = """地域の市民農園は、私たちの町の週末の過ごし方を大きく変えました。
最初は図書館の裏にある小さな区画だけでしたが、今では十二か所の農園がつながり、毎月第一土曜日に集まるボランティアが運営しています。
市は水と堆肥を用意し、住民は種や道具、そして思いがけないほど多くの助言を持ち寄ります。
昨年の夏には二トンを超える野菜が収穫され、その多くはミル通りのフードバンクに届けられました。
近くの小学校の子どもたちは毎週木曜日に訪れ、豆がどのようにつるを伸ばすのか、ミミズがなぜ大切なのか、トマトはいつ収穫できるのかを学んでいます。
区画を借りたい人は図書館の窓口で名前を登録でき、待つ期間はたいてい一つの季節ほどです。"""

# Realistic Chinese web spam: a repeated call to action, keyword stuffing, a link farm.
ZH_SPAM = {
    "repeated_slogan": "点击这里免费领取大奖！" * 30,
    "keyword_stuffing": " ".join(
        ["免费下载", "最新电影", "高清电影", "在线观看", "免费下载", "最新电影"] * 25
    ),
    "link_farm": "\n".join(
        f"{name}官网首页" for name in ["手机", "电脑", "相机", "耳机", "平板", "手表", "音箱", "键盘"] * 6
    ),
    "nav_menu": "首页\n新闻\n体育\n娱乐\n财经\n科技\n汽车\n房产\n教育\n旅游\n游戏\n登录\n注册\n联系我们",
}
