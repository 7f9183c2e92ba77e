#!/usr/bin/env python3
"""Generate the shipped "clickbait" sample project for assay.

Every headline is synthetic: it is assembled from templates and word lists
written for this project (no external dataset is read).  The output is fully
deterministic (fixed seed, standard library only); spaCy is imported solely
for the final self-check that every gold span sits on token boundaries of
``spacy.blank("en")``.

Writes, relative to the repository root:
  src/assay/samples/clickbait.jsonl       {"running_id", "headline"}
  src/assay/samples/clickbait_gold.jsonl  {"running_id", "clickbait", "entities"}

Template mini-language (values of word lists use it too, recursively):
  {slot}      a random value from VOCAB[slot]; a trailing digit ({country2})
              draws from the same list but never repeats a value in a headline
  [[text]]    gold span "clickbait_expression"
  <<text>>    gold span "country_related"
  {country} / {nat} expand to a country name / nationality adjective that is
  marked automatically ("the <<Netherlands>>").
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

SEED = 20240611
ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "assay" / "samples"
MIN_WORDS, MAX_WORDS = 4, 22
# headlines per template group; ambiguous items carry a per-template label
TARGETS = {"cb_list": 215, "cb_text": 390, "news_num": 90, "news_text": 635, "ambiguous": 70}


def L(s: str) -> list[str]:
    return [x.strip() for x in s.split("|") if x.strip()]


# (name, adjective); a leading "the " is kept outside the span
COUNTRIES = [
    ("France", "French"),
    ("Germany", "German"),
    ("Brazil", "Brazilian"),
    ("South Korea", "South Korean"),
    ("Japan", "Japanese"),
    ("China", "Chinese"),
    ("India", "Indian"),
    ("Nigeria", "Nigerian"),
    ("Kenya", "Kenyan"),
    ("Mexico", "Mexican"),
    ("Canada", "Canadian"),
    ("Australia", "Australian"),
    ("Italy", "Italian"),
    ("Spain", "Spanish"),
    ("Portugal", "Portuguese"),
    ("Sweden", "Swedish"),
    ("Norway", "Norwegian"),
    ("Finland", "Finnish"),
    ("Poland", "Polish"),
    ("Ukraine", "Ukrainian"),
    ("Egypt", "Egyptian"),
    ("Argentina", "Argentine"),
    ("Chile", "Chilean"),
    ("Peru", "Peruvian"),
    ("Colombia", "Colombian"),
    ("Indonesia", "Indonesian"),
    ("Vietnam", "Vietnamese"),
    ("Thailand", "Thai"),
    ("the Philippines", "Filipino"),
    ("Pakistan", "Pakistani"),
    ("Bangladesh", "Bangladeshi"),
    ("Greece", "Greek"),
    ("Ireland", "Irish"),
    ("Scotland", "Scottish"),
    ("New Zealand", "New Zealand"),
    ("South Africa", "South African"),
    ("Morocco", "Moroccan"),
    ("Ghana", "Ghanaian"),
    ("Ethiopia", "Ethiopian"),
    ("Switzerland", "Swiss"),
    ("Austria", "Austrian"),
    ("the Netherlands", "Dutch"),
    ("Belgium", "Belgian"),
    ("Denmark", "Danish"),
    ("Iceland", "Icelandic"),
    ("the Czech Republic", "Czech"),
    ("Hungary", "Hungarian"),
    ("Romania", "Romanian"),
    ("the United States", "American"),
    ("the UK", "British"),
    ("Saudi Arabia", "Saudi"),
    ("Singapore", "Singaporean"),
    ("Malaysia", "Malaysian"),
    ("Côte d'Ivoire", "Ivorian"),
    ("Uruguay", "Uruguayan"),
    ("Tunisia", "Tunisian"),
]

V: dict[str, list[str]] = {
    # people and organisations (several recur on purpose)
    "celeb": L(
        "Lola Grant|Ravi Kapoor|Nina Castellano|Theo Blackwood|"
        "Amara Diallo|Jasper Quinn|Delphine Moreau|Kai Okoro|Bianca Ferrante|Hugo Lindahl|"
        "Zara Whitfield|Marco Bellini|Tessa Rowe"
    ),
    "athlete": L(
        "Jonas Varga|Leila Haddad|Marcus Obi|Yuki Tanaka|Bruno Salgado|"
        "Freya Nilsson|Dante Ruiz|Anika Sørensen|Tomás Reyes|Grace Mwangi|Pieter de Vries"
    ),
    # the real public figure Mike Tyson only appears in these neutral, invented contexts
    "tyson_news": L(
        "Mike Tyson to return to the ring for exhibition bout in {city}|Mike Tyson honoured at boxing hall of fame ceremony|"
        "Mike Tyson to open boxing academy for young fighters in {city}|Ex-champion Mike Tyson backs youth sport funding in {city}|"
        "Mike Tyson documentary to premiere at {festival}"
    ),
    "tyson_cb": L(
        "[[This is why]] Mike Tyson loves pigeons so much|Mike Tyson's morning routine [[will blow your mind]]|"
        "[[You won't believe]] what Mike Tyson keeps in his garden|[[You won't believe]] what Mike Tyson said to a fan in {city}|"
        "{n_list} [[times]] Mike Tyson [[totally nailed it]]"
    ),
    "politician": L(
        "Elena Marsh|Tomas Brandt|Aisha Okonkwo|Raj Mehta|Sofia Lindqvist|Daniel Kerr|"
        "Marguerite Duval|Kenji Watanabe|Carlos Ibarra|Helen Achterberg|Fatima Rahimi|"
        "Owen Pritchard|Beatriz Lobo"
    ),
    "ceo": L(
        "Priya Raman|Gregor Hale|Mei Lin Zhou|Oscar Faber|Ingrid Solberg|Samuel Adeyemi|Claire Dubois"
    ),
    "scientist": L(
        "Dr Ana Ferreira|Prof Lars Eklund|Dr Hana Sato|Dr Kwame Mensah|Prof Ines Carvalho"
    ),
    "company": L(
        "Northwind Energy|Brightlane|Kestrel Motors|Orbis Bank|Vantix|Lumeo|Halvard Foods|"
        "Teralink|Quillon Pharma|Meridian Air|Solent Rail|Pixelforge|Greenhollow Dairy|"
        "Atlas Mobile|Corvid Systems|Bluefin Logistics|Ardent Steel|Nimbus Cloud|"
        "Harbourside Retail|Cobalt Insurance|Pellucid Labs|Stonebridge Homes"
    ),
    "team": L(
        "Riverside United|Kingsport Rovers|Harbor City FC|Northgate Athletic|the Lakeshore Hawks|"
        "Eastbridge Wanderers|Redcliffe Town|Saltmarsh City|the Ironvale Bears|Westmoor Albion|"
        "Porthaven FC|the Granite Falls Comets"
    ),
    "party": L("Liberal|Labour|Green|Conservative|Centre|Progressive|Social Democratic|Farmers'"),
    # places
    "town": L(
        "Little Haddow|Brackenford|Millbrook|Eastfield|Ashcombe|Riverton|Kessington|Harlow Cross|"
        "Penwith Bay|Oakridge|Thornbury Vale|Wexley|Fenwick Green|Dunmore Bridge|Lower Stowe|Caldermouth"
    ),
    "city": L(
        "London|Paris|Zürich|São Paulo|Kraków|Malmö|Lagos|Nairobi|Osaka|Seoul|Toronto|Melbourne|"
        "Lyon|Munich|Porto|Seville|Bogotá|Lima|Manila|Dhaka|Cairo|Istanbul|Reykjavík|Montréal|"
        "Düsseldorf|Gdańsk|Chicago|Denver|Leeds|Glasgow|Cork|Bristol|Auckland|Cape Town|"
        "Marseille|Naples|Hanoi|Jakarta|Mumbai|Chennai|Valparaíso|Medellín"
    ),
    "region": L(
        "the north-east|coastal areas|the Highlands|the south coast|mountain regions|the river valley|"
        "northern districts|the capital region|western provinces|the islands|low-lying farmland|"
        "the border region"
    ),
    "road": L(
        "the M6|the A38|Main Street|the ring road|the coast road|Bridge Street|the high street|the bypass"
    ),
    # numbers
    "n_list": L("5|6|7|8|9|10|11|12|13|14|15|17|18|19|20|21|23|25|27|29|31|33|35|41|50"),
    "n_small": L("2|3|4|5|6|7|8|9|11|12|14|16|19|23|27|31|40"),
    "n_big": L("120|200|350|400|600|850|1,200|1,500|2,000|3,400|5,000|12,000"),
    "year": L("2023|2024|2025|2026|2027"),
    "pct": L("3|8|12|17|23|31|38|41|46|54|62|67|71|78"),
    "rate": L("2.1|2.5|2.9|3.4|3.75|4|4.25|4.8|5.1|6.2"),
    "temp": L("38|39|40|41|42|43|44|45|46"),
    # clickbait fill-ins
    "actor": L(
        "chef|grandma|teenager|dad|mom|teacher|dog owner|waiter|bride|student|farmer|janitor|nurse|"
        "taxi driver|9-year-old|retiree|influencer|barista|pilot|neighbor|landlord|bus driver|"
        "fisherman|café owner|mechanic|toddler|groom|delivery driver|librarian|lifeguard|plumber|"
        "grandpa|security guard|cat|dog|goat|parrot|golden retriever|<<Italian>> grandmother|"
        "<<Japanese>> schoolboy|<<Irish>> farmer"
    ),
    "cb_action": L(
        "found a strange box in the attic|left a note on a stranger's car|quit a six-figure job to raise goats|"
        "sold everything to live on a boat|tried to return a 20-year-old sweater|ordered the same meal for ten years|"
        "opened a letter from 1987|put a hidden camera in the garden|asked strangers one simple question|"
        "built a house out of plastic bottles|showed up to a job interview in pyjamas|adopted a three-legged dog|"
        "planted a tree every single day|painted the whole house pink|tipped a waitress $500|"
        "learned to skateboard at 80|moved to {country} without speaking the language|"
        "tried to order pizza in {city}|cleaned out a storage unit|followed a map found in a library book|"
        "refused to pay a parking ticket|knocked on every door in the street"
    ),
    "found_place": L(
        "in the attic|under the floorboards|inside a thrift-store couch|in a secondhand book|behind the fridge|"
        "at the bottom of a lake|in the backyard|inside an old piano|in a hotel room in {city}|on a beach in {country}"
    ),
    "topic_thing": L(
        "the four-day week|hotel minibars|the middle seat|airport lounges|frozen vegetables|landline phones|"
        "the snooze button|dishwasher tablets|cereal mascots|free museum days|loyalty cards|public libraries|"
        "the office microwave|group chats|gym memberships|beige kitchens|the sourdough craze|paper maps|"
        "rice cookers|cruise buffets|<<Swiss>> cheese|<<Belgian>> waffles"
    ),
    "habit": L(
        "drink lemon water|walk 10,000 steps|wake up at 5am|take cold showers|eat an apple|stop checking your phone|"
        "sleep without a pillow|meditate for ten minutes|skip breakfast|drink two litres of water|quit sugar|"
        "read before bed|go barefoot|eat oats for breakfast|keep a journal|stretch for five minutes|"
        "stop drinking coffee|write a to-do list|eat like a <<Greek>> grandmother|nap like a <<Spanish>> office worker"
    ),
    "habit2": L(
        "wash your jeans|charge your phone overnight|put bread in the fridge|rinse pasta|store eggs in the door|"
        "shower at night|make your bed|boil the kettle twice|book a flight on a Sunday|buy a mattress online"
    ),
    "doing_wrong": L(
        "peeling bananas|cutting pizza|loading the dishwasher|tying your shoes|brushing your teeth|"
        "folding towels|storing onions|boiling eggs|eating oranges|washing your hair|making toast|"
        "using a hotel key card|drinking <<Italian>> espresso|eating <<Japanese>> ramen"
    ),
    "benefit": L(
        "save you hundreds on groceries|fix your back pain|help you sleep tonight|make your house smell amazing|"
        "double your phone's battery life|stop your glasses fogging up|keep avocados fresh for weeks|"
        "end your snoring for good|make you a better cook overnight|clear your inbox in minutes"
    ),
    "health_goal": L(
        "losing belly fat|whiter teeth|better sleep|glowing skin|stronger knees|clearer thinking|lower stress|thicker hair"
    ),
    "adj_cb": L(
        "weird|simple|bizarre|strange|genius|sneaky|old-fashioned|ridiculously easy|5-second|kitchen"
    ),
    "effect": L(
        "restore your faith in humanity|make you feel old|make you laugh harder than you should|"
        "make you rethink everything|give you goosebumps|make your day better|make you miss the '90s|"
        'make you want to move to {country}|hit way too close to home|make you say "same"'
    ),
    "state": L(
        "secretly a genius|addicted to coffee|an old soul|ready for a holiday|a morning person|the funny friend|"
        "a true introvert|burned out|the mom friend|more stressed than you think|actually an adult now"
    ),
    "profession": L(
        "nurses|teachers|dentists|pilots|baristas|librarians|plumbers|chefs|firefighters|accountants|"
        "programmers|farmers|flight attendants|waiters|bus drivers|vets|lifeguards|nannies|tattoo artists|"
        "hairdressers|night-shift workers|students|introverts|twins|dog owners|cat people|gardeners|"
        "runners|gamers|new parents|people who grew up in {country}|<<Canadian>> kids"
    ),
    "professional": L(
        "nurse|teacher|dentist|pilot|barista|librarian|plumber|chef|firefighter|accountant|programmer|"
        "farmer|flight attendant|waiter|hairdresser|receptionist|vet|personal trainer"
    ),
    "food": L(
        "pizza|sushi|instant noodles|avocado toast|peanut butter|fried chicken|ice cream|dark chocolate|tofu|"
        "street tacos|croissants|dumplings|kimchi|cheese fondue|pancakes|olive oil|honey|popcorn"
    ),
    "snack": L(
        "snacks|desserts|breakfasts|street foods|sweets|sandwiches|soups|pastries|drinks|cheeses|crisps"
    ),
    "celeb_act": L(
        "opened a bakery in {city}|revealed a surprising hobby|posted a video from {city}|"
        "went viral with a dance clip|adopted a rescue pigeon|tried stand-up comedy|showed off a new tattoo|"
        "started a podcast about gardening|learned to knit|turned up at a school reunion|"
        "answered fan questions for three hours|visited a tiny village in {country}"
    ),
    "real_reason": L(
        "airplane windows are round|hotel pillows are so flat|supermarkets play slow music|"
        "cats knock things off tables|pencils are yellow|<<Japanese>> trains are never late|"
        "<<Swiss>> watches cost so much|jeans have tiny pockets|<<Italian>> grandmothers never use recipes|"
        "cinema popcorn is so expensive|your phone battery dies in the cold|<<Finnish>> kids are so happy"
    ),
    "quiz_topic": L(
        "geography|grammar|1990s music|general knowledge|spelling|capital cities|movie trivia|science|maths"
    ),
    "quiz_cat": L(
        "<<Italian>> pasta shape|European capital|kitchen appliance|breakfast food|sitcom character|houseplant|"
        "dog breed|cheese|cocktail|cloud type"
    ),
    "quiz_basis": L(
        "zodiac sign|coffee order|holiday habits|favourite colour|music taste|sleep schedule|pizza toppings"
    ),
    "life_event": L(
        "turning 30|owning a dog|moving abroad|your first year of marriage|working from home|having twins|"
        "retiring early|living alone|buying your first house|learning to drive at 40|moving to {country}"
    ),
    "cb_thing": L(
        "vending machine|breakfast|school lunch|wedding tradition|hotel room|train station|supermarket|"
        "grandma's recipe|street performer|village|beach|public toilet|bakery|bus stop|garden"
    ),
    "cb_quote": L(
        "I had no idea|I couldn't stop laughing|Nobody warned me|It was right there the whole time|"
        "I thought it was a joke|We were speechless|I'll never do that again|Everyone started clapping"
    ),
    "animals": L(
        "dogs|cats|goats|parrots|otters|penguins|hamsters|cows|raccoons|ducks|corgis|sloths"
    ),
    "animal_feat": L(
        "[[completely forgot how to be]] {animals}|[[are having a better week than you]]|"
        "[[clearly run the household]]|[[have zero regrets]]|[[deserve a raise]]|[[will make you smile]]"
    ),
    "household": L(
        "laundry|fridge|houseplants|passwords|savings|dishwasher|coffee machine|sleep routine"
    ),
    "goal": L(
        "save money|lose weight|fall asleep faster|look younger|learn a language|declutter your home|be happier"
    ),
    "holiday_spot": L(
        "{country}|{city}|the <<Scottish>> islands|the <<Greek>> coast|rural <<Portugal>>|the <<Thai>> jungle"
    ),
    # news fill-ins
    "policy": L(
        "housing|pension reform|climate|immigration|digital tax|minimum wage|school meals|rail|"
        "energy price cap|tobacco|sugar tax|road safety|water quality|childcare|defence spending"
    ),
    "commodity": L(
        "grain|steel|natural gas|electric vehicles|rare earths|fish|wine|coffee|semiconductors|beef|timber"
    ),
    "issue": L(
        "fishing rights|border checks|tariffs|water sharing|airspace|gas prices|data rules|debt relief"
    ),
    "ministry": L("finance|health|transport|education|defence|housing|environment|justice|culture"),
    "tournament": L(
        "the World Cup|the European Championship|the Olympics|the Rugby World Cup|"
        "the Africa Cup of Nations|the world athletics championships|the Davis Cup"
    ),
    "tourn_bare": L(
        "World Cup|European Championship|Olympic Games|Rugby World Cup|Commonwealth Games|world swimming championships"
    ),
    "score": L("2-1|3-0|1-0|4-2|2-2|3-1|5-0|1-1"),
    "disaster": L(
        "storm|earthquake|wildfire|landslide|flash flood|cyclone|heatwave|avalanche|tornado"
    ),
    "crash": L(
        "motorway pile-up|bus crash|train derailment|ferry collision|multi-car crash|lorry fire"
    ),
    "crime": L(
        "armed robbery|jewellery shop raid|cyber attack|art theft|arson attack|stabbing|car theft ring|"
        "burglary spree|cash machine theft|warehouse break-in"
    ),
    "offence": L(
        "fraud|bribery|tax evasion|embezzlement|money laundering|misconduct in public office"
    ),
    "facility": L(
        "cycle lane|housing estate|skate park|solar farm|supermarket|community centre|car park|"
        "primary school|wind turbine|leisure centre|bus station|care home|incinerator"
    ),
    "product": L(
        "foldable phone|electric pickup|pair of smart glasses|budget laptop|AI assistant|home battery|"
        "e-reader|fitness tracker|drone delivery service|self-driving taxi|satellite broadband plan"
    ),
    "astro_thing": L(
        "water vapour|a new exoplanet|an unusual radio signal|a massive black hole|a comet|organic molecules"
    ),
    "astro_place": L(
        "a nearby star|Jupiter's moon Europa|the edge of the galaxy|a young star system|the Andromeda galaxy"
    ),
    "tech_thing": L(
        "a battery that charges in minutes|biodegradable plastic from seaweed|a blood test for early cancer|"
        "a robot that sorts recycling|drought-resistant wheat|a cheaper solar cell|a quantum computing chip|"
        "a malaria vaccine candidate|an earthquake warning app"
    ),
    "factor": L(
        "poor sleep|ultra-processed food|air pollution|loneliness|regular exercise|screen time|shift work|"
        "coffee drinking|gardening|traffic noise"
    ),
    "condition": L(
        "heart disease|dementia risk|depression|type 2 diabetes|lower blood pressure|longer life|"
        "asthma in children|weaker memory"
    ),
    "species": L(
        "frog|beetle|orchid|gecko|freshwater crab|bat|deep-sea fish|songbird|spider|snail"
    ),
    "disease": L("flu|measles|dengue|norovirus|whooping cough|mpox|cholera|malaria"),
    "festival": L(
        "the Cannes film festival|the Berlin film festival|the Venice film festival|a festival in {city}"
    ),
    "book": L(
        "a classic novel|a bestselling thriller|a children's book|a Shakespeare play|a graphic novel"
    ),
    "storm_name": L("Agnes|Babet|Ciarán|Dora|Elin|Fergus|Gerrit|Henk|Isha|Jocelyn"),
    "suspects": L(
        "two men|three teenagers|a man|a woman|five people|four suspects|a former police officer|a 45-year-old man"
    ),
    "role": L(
        "mayor|council leader|bank manager|football agent|charity director|police chief|MP|judge"
    ),
    "quote_news": L(
        "We will not back down|This is about fairness|The numbers simply do not add up|"
        "Our hospitals cannot wait|Now is the time to act|We have listened to voters|This plan puts families first"
    ),
    "weekday": L("Monday|Tuesday|Wednesday|Thursday|Friday|the weekend"),
    "amb_item": L(
        "corn dogs|pastries|sneakers|coffee shops|crime dramas|skincare brands|board games"
    ),
    "amb_list": L("gadgets|budget airlines|phone apps|running shoes|kitchen tools|TV dramas"),
    "struggle": L("grief|burnout|stage fright|life after retirement|years of injury|anxiety"),
    "resource": L("water|housing|nurses|bus drivers|school places|burial space"),
}
COUNTRY_NAMES = [c for c, _ in COUNTRIES]
NATS = sorted({a for _, a in COUNTRIES})

CB_LIST = L("""
{n_list} things only {profession} [[will understand]]|{n_list} [[signs you're]] {state}|
{n_list} {nat} {snack} [[you need to try before you die]]|{n_list} [[reasons why]] {holiday_spot} [[should be your next holiday]]|
{n_list} [[photos that will]] {effect}|{n_list} [[times]] {celeb} [[totally nailed it]]|
{n_list} [[secrets]] {profession} [[don't want you to know]]|{n_list} [[life hacks that will]] {benefit}|
{n_list} [[mistakes you're making]] with your {household}|{n_list} [[tweets that will]] {effect}|
{n_list} [[things you didn't know about]] {country}|{n_list} [[struggles only]] {profession} [[will relate to]]|
{n_list} {animals} who {animal_feat}|{n_list} [[ways to]] {goal} [[without even trying]]|
{n_list} [[foods you should never]] eat before bed|{n_list} [[questions]] every {professional} [[is sick of hearing]]|
{n_list} [[facts about]] {country} [[that sound fake but are true]]|{n_list} [[things that happen when]] you {habit}|
{n_list} [[celebrities you didn't know]] were born in {country}|{n_list} {food} hacks [[that will change your life]]|
{n_list} [[times]] {country} [[won the internet]]|{n_list} [[pictures that prove]] {country} [[is on another level]]|
{n_list} [[of the funniest]] {profession} memes [[of all time]]|{n_list} [[reasons]] {profession} [[are secretly heroes]]|
{n_list} [[red flags]] on a first date [[you should never ignore]]|{n_list} [[habits of]] {nat} grandparents [[you should steal]]|
{n_list} [[words that only]] {nat} people [[can pronounce]]|{n_list} [[genius]] ways to reuse old {household}
""")

CB_TEXT = L("""
[[You won't believe]] what this {actor} did next|[[You won't believe]] what this {actor} found {found_place}|
This {actor} {cb_action}. [[What happened next]] is incredible|This {actor} {cb_action} — [[what happened next]] left everyone speechless|
[[This is why]] nobody talks about {topic_thing} anymore|{celeb} just {celeb_act} and fans [[can't stop talking about it]]|
[[Here's what happens]] when you {habit} every day for a month|[[Doctors hate]] this {adj_cb} trick for {health_goal}|
[[The real reason]] {real_reason}|Only {pct}% of people can pass this {quiz_topic} quiz. [[Can you?]]|
[[We tried]] {food} from {country} and [[it changed everything]]|What this {actor} discovered {found_place} [[will blow your mind]]|
People in {country} have been doing this for years — [[and it's genius]]|[[Wait until you see]] what {celeb} looks like now|
[[Everyone is talking about]] this {nat} {cb_thing}|Is this the weirdest {cb_thing} [[you've ever seen]]?|
[[Can you spot]] the hidden cat in this photo of {city}?|[[This one simple trick]] will {benefit}|
[[The internet can't stop laughing at]] this {actor}'s {cb_thing}|[[Find out]] which {quiz_cat} you are based on your {quiz_basis}|
[[What nobody tells you]] about {life_event}|[[You've been]] {doing_wrong} [[wrong your whole life]]|
[[The reason why]] {celeb} quit social media [[will shock you]]|[[This is what happened]] when a {actor} {cb_action}|
[[I tried]] to {habit} for 30 days and [[here's what happened]]|[[Don't]] {habit2} [[until you read this]]|
[[You'll never guess]] which {nat} {cb_thing} just went viral|[[Why is no one talking about]] {topic_thing}?|
{celeb} [[finally reveals]] the secret to {health_goal}|[[The truth about]] {food} [[will change the way you]] shop|
“{cb_quote}” — [[you won't believe]] what this {actor} saw in {city}|"{cb_quote}": [[you have to see]] what this {actor} built|
[[Scientists are baffled]] by this {species} in {country}|[[These photos of]] {holiday_spot} [[will make you want to]] quit your job|
[[You need to see]] this {nat} {actor}'s {cb_thing}|[[Nobody expected]] this {actor} to win a talent show in {country}|
{celeb} [[broke the internet]] with this photo from {city}|[[Here's why]] you should never {habit2}|
[[What they don't want you to know]] about {topic_thing}|[[Is it just me, or]] is everyone suddenly obsessed with {topic_thing}?|
[[The one thing]] every {professional} [[wishes you knew]]|[[This is the {adj_cb} reason]] {nat} people live longer|
[[Prepare to be amazed]] by this {actor} from {city}|He {cb_action}. [[Then this happened]]|
[[What happens next will make you cry]]|[[Wait for it]]: this {actor} {cb_action}|
[[You'll want to]] {habit} [[after reading this]]|[[Only a genius]] can solve this {quiz_topic} puzzle|
{tyson_cb}|[[The surprising truth about]] {food} [[that nobody mentions]]|
{celeb} [[shares the one thing you should never do]] in {country}|[[Why does nobody]] {habit} [[anymore]]?|
This {cb_thing} [[is pure genius]]|[[Nobody saw this coming]]|{celeb} [[did it again]]|
[[We need to talk about]] {topic_thing}|[[OMG]], this {nat} {cb_thing} [[is everything]]|
This {actor} {cb_action} and [[what happened next will restore your faith in humanity]] — you have to see it|
[[You won't believe]] how this {actor} from {city} turned a tiny {cb_thing} into a business worth millions|
[[This simple question]] from a {actor} [[left]] {celeb} [[speechless]]|[[Guess what]] this {actor} found {found_place}
""")

NEWS_NUM = L("""
{n_small} killed as {disaster} hits {region} of {country}|{year} budget approved by parliament in {country}|
{n_small} injured in {crash} on {road}|{n_big} jobs at risk as {company} closes {city} plant|
{n_small} arrested after {crime} in {city}|{year} {tourn_bare} to be held in {country}|
{n_big} {nat} nationals evacuated from {country2}|{pct}% of voters in {country} back {policy} plan, poll finds|
{n_small} candidates enter race for {city} mayor|{year} harvest in {country} hit by drought|
{n_big} homes without power after storm in {region}|{n_small} people rescued from flooded mine in {country}|
{n_small} schools closed in {city} as {disease} spreads|{year} census shows {country} population falling|
{n_small} dead after {crash} near {city}|{n_big} flights cancelled as strike hits {nat} airports|
{year} election date set for {country}|{n_small} charged over {crime} in {town}|
{n_big} extra nurses to be hired in {region}, ministers say|{pct} per cent rise in {disease} cases recorded in {country}
""")

NEWS_TEXT = L("""
{politician} wins {party} party leadership contest|{nat} parliament passes {policy} bill after marathon debate|
{country} and {country2} sign trade deal on {commodity}|Opposition calls for inquiry into {policy} contracts|
{politician} resigns as {ministry} minister|Election in {country}: turnout reaches record high|
{nat} president to visit {country2} next week|Talks between {country} and {country2} stall over {issue}|
Finance minister {politician} defends {policy} plan|{country} election: {party} party leads in early results|
Will {country} raise interest rates again? Decision due {weekday}|‘{quote_news}’: {politician} defends {policy} plan|
{politician}: "{quote_news}"|Who will replace {politician} as {party} leader?|
{team} beat {team2} {score} to reach cup final|{athlete} retires after long career|
{nat} sprinter sets national record in {city}|{country} name squad for {tournament}|
{tyson_news}|{team} sack manager after poor run|
Rain delays final day of cricket test in {city}|What next for {team} after cup exit?|
{athlete} withdraws from {tournament} with knee injury|{nat} cyclist wins mountain stage in {country2}|
{company} shares fall after profit warning|{company} to cut jobs at {city} site|
{nat} central bank holds interest rates at {rate}%|{company} agrees takeover of {company2}|
Inflation in {country} eases to {rate}%|{company} chief executive {ceo} steps down|
{nat} economy returns to growth in third quarter|{company} fined over misleading prices|
Astronomers detect {astro_thing} near {astro_place}|{nat} researchers develop {tech_thing}|
{company} unveils {product} at launch event in {city}|Study links {factor} to {condition}|
New species of {species} found in {country}|Regulators fine {company} over data breach|
{scientist} leads team mapping glaciers in {country}|{company} recalls {product} over battery fault|
Hospital waiting lists in {region} rise for third month|{country} approves new vaccine against {disease}|
Health officials urge caution as {disease} cases rise in {city}|{nat} doctors strike over pay|
{celeb} to star in adaptation of {book}|{nat} film wins top prize at {festival}|
Museum in {city} returns artefacts to {country}|{celeb} announces world tour starting in {city}|
Heatwave grips {country} as temperatures top {temp}C|Flood warnings issued for {region}|
Storm {storm_name} brings heavy snow to {region}|Drought forces water restrictions in {city}|
Man charged after {crime} in {town}|Police in {city} arrest {suspects} over {crime}|
Court jails former {role} for {offence}|{nat} police seize cocaine hidden in banana shipment|
{town} council approves plans for new {facility}|Residents in {town} oppose {facility} plan|
Roadworks to close {road} in {town} until spring|{town} library to extend opening hours|
Bus services cut in {town} as operator blames costs|{town} {facility} to close after funding row|
{country} and {country2} agree to reopen border crossing|{nat} foreign minister meets counterpart in {city}|
Thousands march in {city} over {policy} changes|{country} to raise retirement age, government confirms|
{company} profits beat forecasts on strong demand in {country}|{ceo} named new chair of {company}|
Wildfire forces evacuations near {city}|Earthquake of magnitude 6.1 strikes off coast of {country}|
{team} sign {nat} striker on three-year deal|{athlete} beats {athlete2} in five-set thriller|
{nat} prime minister survives confidence vote|Protesters block roads in {city} as fuel prices climb|
{politician} to meet {nat} leaders on {issue} — sources|
Café owners in {city} warn of rising rents|{country} bans disposable vapes from {year}|
Archaeologists uncover Roman villa near {city}|{company} shares slump|Storm {storm_name} batters {region}|
{country} bans disposable vapes|{politician} wins runoff|Tributes paid to former {town} {role}|
{politician} says {nat} government will review {policy} rules after a year of protests in the capital|
{nat} ministers meet in {city} for emergency talks on {issue} as tensions with {country2} grow over the summer|
Coastguard searches for missing fishermen off {country} after boat capsizes in heavy seas overnight|{nat} astronaut returns from space station
""")

# (label, template): the gold label of these is a judgement call
AMBIGUOUS = [
    ("yes", "Why {nat} {amb_item} are suddenly everywhere"),
    ("yes", "[[The surprising reason]] rent prices keep rising in {city}"),
    ("yes", "Is {food} actually good for you? [[Here's what experts say]]"),
    ("yes", "This {nat} village has banned cars — and residents love it"),
    ("yes", "The {n_list} best {amb_list} of {year}"),
    ("yes", "Meet the {nat} {professional} who became a chess champion at 70"),
    ("yes", "What your {quiz_basis} says about your health"),
    ("yes", "{n_list} {amb_list} that are actually worth the hype"),
    ("no", "What {politician}'s resignation means for your pension"),
    ("no", "How one {town} bakery survived the energy crisis"),
    ("no", "{celeb} opens up about {struggle}"),
    ("no", "Everything you need to know about the {nat} election"),
    ("no", "{n_list} things to do in {city} this weekend"),
    ("no", "Can {country} really win {tournament}?"),
    ("no", "{n_small} charts that explain the {nat} housing crisis"),
    ("no", "Why {city} is running out of {resource}"),
]

SLOT_RE = re.compile(r"\{(\w+?)\d?\}|\[\[(.+?)\]\]|<<(.+?)>>")
SMALL_WORDS = set(L("a|an|the|and|but|or|for|nor|on|at|to|by|of|in|as|vs|with|from|up|is"))


def expand(tpl: str, rng: random.Random, used: dict, spans: list, offset: int) -> str:
    """Expand ``tpl``; append (start, end, label) spans (absolute offsets)."""
    out: list[str] = []
    pos = 0
    length = 0
    for m in SLOT_RE.finditer(tpl):
        lit = tpl[pos : m.start()]
        out.append(lit)
        length += len(lit)
        here = offset + length
        slot, cb, ctry = m.groups()
        if cb is not None or ctry is not None:
            text = expand(cb if cb is not None else ctry, rng, used, spans, here)
            spans.append(
                (
                    here,
                    here + len(text),
                    "clickbait_expression" if cb is not None else "country_related",
                )
            )
        else:
            if slot == "country":
                value = _pick(COUNTRY_NAMES, rng, used, slot)
                value = (
                    "the <<" + value[4:] + ">>" if value.startswith("the ") else "<<" + value + ">>"
                )
            elif slot == "nat":
                value = "<<" + _pick(NATS, rng, used, slot) + ">>"
            else:
                value = _pick(V[slot], rng, used, slot)
            text = expand(value, rng, used, spans, here)
        out.append(text)
        length += len(text)
        pos = m.end()
    out.append(tpl[pos:])
    return "".join(out)


def _pick(pool: list[str], rng: random.Random, used: dict, slot: str) -> str:
    taken = used.setdefault(slot, set())
    choices = [v for v in pool if v not in taken] or pool
    value = rng.choice(choices)
    taken.add(value)
    return value


def recase(text: str, style: str) -> str:
    """Length-preserving re-casing: 'all' (every word), 'ap' (skip small words) or 'first'."""
    words = text.split(" ")
    out = []
    for i, w in enumerate(words):
        m = re.match(r"[^\w]*(\w)", w)
        prev_colon = i > 0 and words[i - 1][-1:] in ":—?."
        skip = (style == "first" and i > 0) or (
            style == "ap" and i > 0 and not prev_colon and w.lower() in SMALL_WORDS
        )
        if m and m.group(1).isalpha() and not skip and len(m.group(1).upper()) == 1:
            j = m.start(1)
            w = w[:j] + w[j].upper() + w[j + 1 :]
        out.append(w)
    return " ".join(out)


def build(rng: random.Random) -> list[dict]:
    groups = {
        "cb_list": [("yes", t) for t in CB_LIST],
        "cb_text": [("yes", t) for t in CB_TEXT],
        "news_num": [("no", t) for t in NEWS_NUM],
        "news_text": [("no", t) for t in NEWS_TEXT],
        "ambiguous": AMBIGUOUS,
    }
    title_prob = {
        "cb_list": 0.85,
        "cb_text": 0.85,
        "news_num": 0.2,
        "news_text": 0.25,
        "ambiguous": 0.5,
    }
    seen: set[str] = set()
    items: list[dict] = []
    for group, templates in groups.items():
        made, attempts = 0, 0
        while made < TARGETS[group]:
            attempts += 1
            if attempts > 200 * TARGETS[group]:
                sys.exit(f"cannot make enough distinct headlines for group {group}")
            label, tpl = rng.choice(templates)
            spans: list = []
            text = expand(tpl, rng, {}, spans, 0)
            style = (
                ("all" if label == "yes" else "ap") if rng.random() < title_prob[group] else "first"
            )
            text = recase(text, style)
            key = re.sub(r"\W+", " ", text.lower()).strip()
            n_words = len(text.split())
            if key in seen or not MIN_WORDS <= n_words <= MAX_WORDS:
                continue
            seen.add(key)
            made += 1
            items.append({"group": group, "label": label, "headline": text, "spans": sorted(spans)})
    rng.shuffle(items)
    return items


def check(items: list[dict]) -> None:
    """Fail loudly on any malformed item or any span off spaCy token boundaries."""
    import spacy

    nlp = spacy.blank("en")
    country_re = re.compile(
        r"(?<![\w'])("
        + "|".join(
            re.escape(w)
            for w in sorted(
                {c.removeprefix("the ") for c in COUNTRY_NAMES} | set(NATS), key=len, reverse=True
            )
        )
        + r")(?!\w)"
    )
    errors = []
    for it in items:
        h = it["headline"]
        if "  " in h or h != h.strip() or "{" in h or "[[" in h or "<<" in h:
            errors.append(f"bad text: {h!r}")
        doc = nlp.make_doc(h)
        last_end = -1
        for s, e, lab in it["spans"]:
            if doc.char_span(s, e) is None:
                errors.append(f"span {h[s:e]!r} ({s},{e}) not on token boundaries in {h!r}")
            if s < last_end:
                errors.append(f"overlapping spans in {h!r}")
            if lab == "clickbait_expression" and it["label"] != "yes":
                errors.append(f"clickbait span in non-clickbait {h!r}")
            last_end = e
        covered = {(s, e) for s, e, lab in it["spans"] if lab == "country_related"}
        for m in country_re.finditer(h):
            if m.span() not in covered:
                errors.append(f"unmarked country word {m.group(0)!r} in {h!r}")
        if it["group"] in ("cb_list", "cb_text") and not any(
            lab == "clickbait_expression" for *_, lab in it["spans"]
        ):
            errors.append(f"clickbait without expression span: {h!r}")
    if errors:
        print("\n".join(errors[:50]), file=sys.stderr)
        raise SystemExit(f"self-check FAILED: {len(errors)} problem(s)")


def main() -> None:
    rng = random.Random(SEED)
    items = build(rng)
    check(items)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with (
        open(OUT_DIR / "clickbait.jsonl", "w", encoding="utf-8", newline="\n") as fd,
        open(OUT_DIR / "clickbait_gold.jsonl", "w", encoding="utf-8", newline="\n") as fg,
    ):
        for rid, it in enumerate(items):
            h = it["headline"]
            fd.write(json.dumps({"running_id": rid, "headline": h}, ensure_ascii=False) + "\n")
            ents = [
                {"label": lab, "start_char": s, "end_char": e, "text": h[s:e]}
                for s, e, lab in it["spans"]
            ]
            fg.write(
                json.dumps(
                    {"running_id": rid, "clickbait": it["label"], "entities": ents},
                    ensure_ascii=False,
                )
                + "\n"
            )

    # statistics
    n = len(items)
    labels = Counter(it["label"] for it in items)
    span_labels = Counter(lab for it in items for *_, lab in it["spans"])
    digit = Counter(it["label"] for it in items if it["headline"].split()[0][0].isdigit())
    tyson = Counter(it["label"] for it in items if "Mike Tyson" in it["headline"])
    country_items = Counter(
        it["label"] for it in items if any(lab == "country_related" for *_, lab in it["spans"])
    )
    lengths = [len(it["headline"].split()) for it in items]
    n_templates = len(CB_LIST) + len(CB_TEXT) + len(NEWS_NUM) + len(NEWS_TEXT) + len(AMBIGUOUS)
    n_fill = sum(len(v) for v in V.values()) + 2 * len(COUNTRIES)
    print(f"headlines: {n} (all distinct) -> {OUT_DIR.relative_to(ROOT)}")
    print(f"templates: {n_templates}, fill-in values: {n_fill}, seed: {SEED}")
    print(
        f"clickbait yes: {labels['yes']} ({labels['yes'] / n:.1%}), no: {labels['no']} ({labels['no'] / n:.1%})"
    )
    print(
        f"ambiguous (judgement-call) items: {TARGETS['ambiguous']} "
        f"(yes {sum(1 for it in items if it['group'] == 'ambiguous' and it['label'] == 'yes')})"
    )
    print(
        f"spans: clickbait_expression {span_labels['clickbait_expression']}, "
        f"country_related {span_labels['country_related']}"
    )
    print(f"headlines with a country span: yes {country_items['yes']}, no {country_items['no']}")
    d_all = digit["yes"] + digit["no"]
    print(
        f"start with a digit: yes {digit['yes']}, no {digit['no']} "
        f"(rule 'digit -> clickbait' precision {digit['yes'] / d_all:.1%}, recall {digit['yes'] / labels['yes']:.1%})"
    )
    print(f"'Mike Tyson' headlines: {sum(tyson.values())} (yes {tyson['yes']}, no {tyson['no']})")
    print(
        f"words per headline: min {min(lengths)}, max {max(lengths)}, mean {sum(lengths) / n:.1f}"
    )
    print(f"non-ASCII headlines: {sum(1 for it in items if not it['headline'].isascii())}")
    print("self-check passed: every span aligns with spacy.blank('en') tokens")


if __name__ == "__main__":
    main()
