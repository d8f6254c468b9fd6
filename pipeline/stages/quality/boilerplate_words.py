"""Small per-language word lists for the boilerplate filter (written for Winnow, not copied from a list).

STOP_WORDS: the commonest function words (articles, pronouns, prepositions, auxiliaries, conjunctions), the
cue jusText uses (Pomikálek 2011, sec. 3.2) to tell prose from menus; ours are ~100 words, not jusText's
~300-800, and the density thresholds in boilerplate.py are calibrated for these lists.
NAV_WORDS / SHARE_WORDS / BYLINE_STARTS / LEGAL_PHRASES: cues for the structural line rules, all lowercase.
"""
from __future__ import annotations

_STOP = {
    "en": "a about after all also an and any are as at be because been before between both but by can "
          "could did do does during each for from had has have he her his how i if in into is it its just "
          "may me might more most my no not of on one only or other our out over she should so some such "
          "than that the their them then there these they this those through to up very was we were what "
          "when where which while who will with would you your",
    "de": "aber als also am an auch auf aus bei bis da damit dann das dass daß dem den denn der des dich die "
          "dies diese diesem dieser dieses doch du durch ein eine einem einen einer eines er es für gegen "
          "hat hatte haben hier ich ihr im in ist ja kann können man mehr mich mir mit muss nach nicht noch "
          "nur ob oder schon sehr sein seine sich sie sind so sowie um und uns unter vom von vor war waren "
          "was weil wenn werden wie wir wird wurde wurden zu zum zur über",
    "fr": "a afin ai au aussi aux avec avoir bien ce ces cette comme dans de des donc dont du elle elles en "
          "est et été être il ils je la le les leur leurs lui mais me même mes mon ne nos notre nous on ont "
          "ou où par pas peut plus pour qu que qui sa sans se ses si son sont sur tous tout très un une vous y",
    "es": "a al algo así como con cuando de del desde donde el ella ellos en entre era es esa ese esta este "
          "esto está están fue ha han hay la las le les lo los más muy no nos o para pero por porque que se "
          "sea ser si sin sobre son su sus también tiene todo todos un una uno unos y ya",
    "it": "a ai al alla alle anche che chi ci come con cui da dal dalla degli dei del della delle di e è "
          "gli ha hanno il in io la le lo loro ma molto ne nei nel nella non o per più questa questo se si "
          "sono su sua suo tra un una uno",
    "pl": "a ale ani by być był była było co czy dla do gdy go i ich jak jako jego jej jest już ma mnie na "
          "nie o od oraz po pod przez przy są się tak także te tego tej ten to tu tylko w we z za ze że",
}
STOP_WORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in _STOP.items()}

# A line made only of these (and punctuation/arrows/digits) is a menu or pager entry.
NAV_WORDS = frozenset("""
home homepage menu main navigation nav search skip to content jump go back top next previous prev older newer
posts post more read continue login log in out sign up register account subscribe unsubscribe newsletter
contact about us imprint sitemap help faq faqs archive archives categories category tags tag page pages
toggle close open show hide all view print rss feed feeds cart checkout shop store cancel reply submit
startseite hauptmenü navigation suche suchen zum inhalt springen wechseln weiter zurück vorherige nächste
nächster vorheriger mehr weiterlesen anmelden abmelden registrieren kontakt impressum datenschutz
übersicht seite seiten schließen öffnen alle anzeigen drucken warenkorb kategorien archiv abonnieren
accueil rechercher suivant précédent plus lire la suite connexion inscription mentions légales
inicio buscar siguiente anterior más leer iniciar sesión contacto aviso legal
cerca successivo precedente leggi di più accedi contatti
szukaj dalej następny poprzedni więcej czytaj zaloguj kontakt
""".split())

# Social networks and share verbs: a short line made only of these is a share bar.
SHARE_WORDS = frozenset("""
share shares shared tweet tweets retweet pin it email e-mail mail print facebook twitter linkedin xing reddit
pinterest whatsapp telegram tumblr flipboard pocket instagram youtube google google+ plus this on via the
article story post page link copy like follow us comments comment teilen teile diesen beitrag artikel
seite auf mit per drucken empfehlen twittern gefällt mir partager imprimer compartir imprimir
condividi stampa udostępnij
""".split())

# A short line starting with one of these is a byline ("Posted on 3 March 2020", "Von Max Muster").
BYLINE_STARTS = ("posted on", "posted by", "published", "updated", "last updated", "written by", "by ",
                 "author:", "veröffentlicht", "aktualisiert", "geschrieben von", "von ", "autor:",
                 "publié le", "par ", "mis à jour", "publicado", "por ", "actualizado", "pubblicato",
                 "di ", "opublikowano", "autor ")

# Cookie/consent, copyright and legal-notice cues; a line holding one is removed when it is short enough
# ("copyright" itself is checked in boilerplate.legal: a notice, not the topic).
LEGAL_PHRASES = (
    "©", "(c) 19", "(c) 20", "subject to copyright", "all rights reserved", "alle rechte vorbehalten",
    "tous droits réservés", "todos los derechos reservados", "tutti i diritti riservati",
    "wszelkie prawa zastrzeżone", "some rights reserved", "privacy policy", "cookie policy", "terms of use",
    "terms of service", "terms and conditions", "datenschutzerklärung", "nutzungsbedingungen", "cookie-richtlinie",
    "politique de confidentialité", "política de privacidad", "informativa sulla privacy",
    "polityka prywatności", "our advertisers", "advertising disclaimer", "not responsible for the content",
    "not responsible for the opinions",
)
# "cookie(s)" counts as a consent cue only with one of these in the same line (a recipe stays).
COOKIE_CONTEXT = ("consent", "accept", "browser", "website", "site", "tracking", "einverstanden", "zustimm",
                  "akzeptier", "webseite", "verwende", "nutzung", "accepter", "navigation", "aceptar",
                  "navegación", "accetta", "navigazione", "akceptuj", "stron")

# Calls to action, paywall, comment-form and advertising notices: newsletters, sign-ups, ad blockers,
# affiliate disclosures ("If you're running an ad-blocker ...", "Get the latest news in your inbox").
CALL_TO_ACTION_PHRASES = (
    "subscribe", "subscriber", "subscription", "newsletter", "sign up", "sign in", "log in to", "inbox",
    "notify me", "ad blocker", "ad-blocker", "adblock", "associates program", "advertise with",
    "advertisement", "advertising disclosure", "advertiser disclosure", "sponsored", "push notification",
    "download our app", "download the app", "letter to the editor", "leave a reply",
    "leave a comment", "will not be published", "required fields", "support our",
    "become a member", "enter your email", "posts by email", "follow by email", "straight to your inbox",
    "straight to your phone", "never miss a story", "never miss a post", "never miss our", "app for ios",
    "apps for ios", "using a browser version", "older browser version", "outdated browser",
    "comments are moderated", "(opens in new window)",
    "abonnier", "abonnement", "anzeige", "werbung", "jetzt anmelden", "kommentar verfassen",
    "nicht veröffentlicht", "pflichtfelder", "folgen sie uns", "spenden",
    "abonnez", "abonner", "inscrivez", "publicité", "suivez-nous",
    "suscríbete", "suscribirse", "suscripción", "boletín", "publicidad", "síguenos",
    "iscriviti", "abbonati", "pubblicità", "seguici",
    "subskrybuj", "zapisz się", "reklama", "obserwuj nas",
)

# Image credits: a short line that starts with one of these ("Photo by Jane Doe / Unsplash", "Foto: dpa") or
# ends with a picture agency ("Matthias Kern/Getty Images").
CREDIT_STARTS = ("photo by", "photos by", "photograph by", "photographs by", "image by", "picture by",
                 "illustration by", "photo credit", "image credit", "photo:", "photos:", "image:", "images:",
                 "picture:", "credit:", "foto:", "fotos:", "bild:", "crédit photo", "foto di")
CREDIT_ENDS = ("getty images", "shutterstock", "istock", "istockphoto", "unsplash", "pexels", "ap photo",
               "afp", "dpa", "reuters")

# Whole words only ("affiliates around the world" and "donated" are not calls to action).
CALL_TO_ACTION_WORDS = frozenset(("affiliate", "donate"))

# A short heading starting with one of these opens a teaser, author or comment section that ends the article
# ("Related articles", "You may also like", "Comments (12)", "Mehr zum Thema"); all lowercase.
TEASER_HEADINGS = (
    "related", "more from", "more on", "more stories", "more articles", "more news", "you may also like",
    "you might also like", "you may be interested", "recommended", "read next", "read more", "keep reading",
    "further reading", "most popular", "most read", "popular posts", "recent posts", "latest news",
    "about the author", "comments", "leave a reply", "leave a comment", "post a comment", "join the discussion",
    "weitere artikel", "das könnte sie auch interessieren", "mehr zum thema", "mehr aus", "lesen sie auch",
    "ähnliche artikel", "kommentare", "über den autor", "à lire aussi", "lire aussi", "articles similaires",
    "sur le même sujet", "commentaires", "vous aimerez aussi", "artículos relacionados", "te puede interesar",
    "comentarios", "noticias relacionadas", "articoli correlati", "potrebbe interessarti", "commenti",
    "leggi anche", "podobne artykuły", "komentarze", "zobacz też", "czytaj także", "czytaj też",
)
